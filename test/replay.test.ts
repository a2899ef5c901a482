import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { MemoryJournal, Rlm } from "rlm-queue";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";

let mock: MockLlmServer;

beforeAll(async () => {
  mock = await startMockLlmServer({ strategy: "map-reduce", chunkChars: 40_000 });
});

afterAll(async () => {
  await mock?.stop();
});

it("replaying from the journal reproduces answer and REPL state with zero model calls", async () => {
  const document = makeDocument({ chars: 300_000, markerCount: 17, seed: 5 });
  const journal = new MemoryJournal();
  const rlm = new Rlm({ baseURL: mock.url, apiKey: "k" });
  const query = `How many times does "${document.marker}" appear?`;
  const first = await rlm.completion(query, document.text, { journal, analysisId: "replay-1" });
  expect(first.answer.trim()).toBe("17");
  const callsBefore = mock.requests().length;
  expect(callsBefore).toBe(first.totalCalls);

  // A fresh Rlm (new sandbox factory, new isolate) over the same journal.
  const again = await new Rlm({ baseURL: mock.url, apiKey: "k" }).completion(query, document.text, {
    journal,
    analysisId: "replay-1",
  });
  expect(mock.requests().length).toBe(callsBefore);
  expect(again.answer).toBe(first.answer);
  expect(again.messages).toEqual(first.messages);
  expect(again.replHistory.map(({ code, output, error }) => ({ code, output, error }))).toEqual(
    first.replHistory.map(({ code, output, error }) => ({ code, output, error })),
  );
  expect(again.usage).toEqual(first.usage);
  expect(again.totalCalls).toBe(first.totalCalls);
});
