import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { type RlmWorker, RlmQueueClient, startRlmWorker } from "@rlm/queue";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { deleteKeys, uniquePrefix } from "./support/redis-prefix.js";

// A worker in this process (real Redis, real BullMQ, the mock over HTTP), so its
// statistics can be read directly.
const prefix = uniquePrefix("live-answers");
const connection = { host: "127.0.0.1", port: 6379 };
let mock: MockLlmServer;
let worker: RlmWorker;
let client: RlmQueueClient;

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 20, strategy: "map-reduce", chunkChars: 20_000 });
  worker = await startRlmWorker({
    connection,
    prefix,
    model: { baseURL: mock.url, apiKey: "test-key" },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  });
  client = new RlmQueueClient({ connection, prefix });
});

afterAll(async () => {
  await client?.close();
  await worker?.close({ timeoutMs: 5_000 });
  await mock?.stop();
  await deleteKeys(prefix);
});

it("hands each sub-call answer to the waiting run of the same process as it is journaled", async () => {
  const document = makeDocument({ chars: 400_000, markerCount: 23, seed: 4 });
  const { id } = await client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  const result = await client.waitForResult(id, { timeoutMs: 60_000 });
  expect(result.finishReason).toBe("final");
  expect(result.answer.trim()).toBe("23");
  const subCalls = mock.requests().filter((request) => request.kind === "sub").length;
  expect(subCalls).toBeGreaterThan(10);
  // Every answer reached the cell before BullMQ resumed the root job, and the resume
  // found the run alive (no replay).
  const stats = worker.liveRunStats();
  expect(stats.liveAnswers).toBe(subCalls);
  expect(stats.misses).toBe(1); // the analysis's first run only
  expect(stats.hits).toBeGreaterThan(0);
});
