import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { type Journal, type JournalRecord, MemoryJournal, Rlm } from "rlm-queue";
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

it("reads the journal only up to the first root turn it lacks, and pays only for what follows", async () => {
  const document = makeDocument({ chars: 300_000, markerCount: 9, seed: 7 });
  const query = `How many times does "${document.marker}" appear?`;
  const countingJournal = (records?: Map<string, JournalRecord>) => {
    const inner = new MemoryJournal(records);
    const reads: string[] = [];
    const journal: Journal & { inner: MemoryJournal; reads: string[] } = {
      inner,
      reads,
      get: (key) => {
        reads.push(key);
        return inner.get(key);
      },
      putIfAbsent: (key, record) => inner.putIfAbsent(key, record),
      scope: () => {
        throw new Error("not used without nesting");
      },
    };
    return journal;
  };

  // A fresh analysis: one lookup (the first root turn, missing), none after it.
  const full = countingJournal();
  const first = await new Rlm({ baseURL: mock.url, apiKey: "k" }).completion(query, document.text, {
    journal: full,
    analysisId: "frontier-1",
  });
  expect(first.answer.trim()).toBe("9");
  expect(full.reads).toEqual(["root:1"]);

  // A resume from a journal that ends after the second root turn (the crash came while
  // its fan-out ran): it reads what exists, then the first missing turn, and stops.
  const entries = full.inner.entries();
  const cut = entries.findIndex(([key]) => key === "root:2") + 1;
  const partial = countingJournal(new Map(entries.slice(0, cut)));
  const requestsBefore = mock.requests().length;
  const resumed = await new Rlm({ baseURL: mock.url, apiKey: "k" }).completion(
    query,
    document.text,
    { journal: partial, analysisId: "frontier-1" },
  );
  expect(resumed.answer).toBe(first.answer);
  expect(partial.reads.filter((key) => key.startsWith("root:"))).toEqual([
    "root:1",
    "root:2",
    "root:3",
  ]);
  // Only the turns and calls after root 2 were paid again.
  const paidAgain = mock.requests().length - requestsBefore;
  const journaledBefore = entries.slice(0, cut).filter(([key]) => !key.startsWith("cell:")).length;
  expect(paidAgain).toBe(first.totalCalls - journaledBefore);
});
