import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { Rlm } from "rlm-queue";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeDocument, maxOverlap } from "./support/documents.js";

let mock: MockLlmServer;

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 200, strategy: "map-reduce", chunkChars: 50_000 });
});

afterAll(async () => {
  await mock?.stop();
});

it("20 sub-calls of 200 ms run in parallel, not one after another", async () => {
  const document = makeDocument({ chars: 960_000, markerCount: 40 });
  const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", subConcurrency: 20 });
  const result = await rlm.completion(
    `How many times does "${document.marker}" appear?`,
    document.text,
  );
  expect(result.answer.trim()).toBe("40");

  const subCalls = mock.requests().filter((request) => request.kind === "sub");
  expect(subCalls).toHaveLength(20);
  // Overlap measured from the server's own request times, not from a wall clock here.
  // On a loaded 2-core CI machine a few calls may reach the server after the first
  // ones returned; sequential calls would overlap by 1.
  expect(maxOverlap(subCalls)).toBeGreaterThanOrEqual(15);
});

it("subConcurrency bounds the calls in flight", async () => {
  mock.reset();
  const document = makeDocument({ chars: 500_000, markerCount: 10, seed: 3 });
  const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", subConcurrency: 4 });
  const result = await rlm.completion(
    `How many times does "${document.marker}" appear?`,
    document.text,
  );
  expect(result.answer.trim()).toBe("10");
  const subCalls = mock.requests().filter((request) => request.kind === "sub");
  expect(subCalls.length).toBeGreaterThanOrEqual(10);
  expect(maxOverlap(subCalls)).toBe(4);
});
