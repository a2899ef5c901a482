import { type MockLlmOptions, type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { RlmQueueClient, type RlmWorker, type RlmWorkerOptions, startRlmWorker } from "@rlm/queue";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { makeDocument } from "./documents.js";
import { deleteKeys, uniquePrefix } from "./redis-prefix.js";

/**
 * Workers in the test's own process (real Redis, real BullMQ, the mock over HTTP), so
 * their statistics can be read directly: a mock LLM, a producer client on a unique Redis
 * prefix, and workers started on demand. Registers the hooks: workers are closed after
 * each test; the client, the mock and the prefix's keys after the file.
 */
export function inProcessWorkers(name: string, mockDefaults: MockLlmOptions) {
  const prefix = uniquePrefix(name);
  const connection = { host: "127.0.0.1", port: 6379 };
  const workers: RlmWorker[] = [];
  const bed = {
    prefix,
    connection,
    mock: undefined as unknown as MockLlmServer,
    client: undefined as unknown as RlmQueueClient,
    /** Starts `startRlmWorker` against the mock (options override the defaults). */
    async worker(options: Partial<RlmWorkerOptions> = {}): Promise<RlmWorker> {
      const started = await startRlmWorker({
        connection,
        prefix,
        model: { baseURL: bed.mock.url, apiKey: "test-key" },
        defaults: { rootModel: "mock-root", subModel: "mock-sub" },
        ...options,
      });
      workers.push(started);
      return started;
    },
    /**
     * Runs one map-reduce analysis (count a marker in a generated 400 KB document) and
     * checks its answer; returns its id and the sub-call requests the mock got for it.
     */
    async mapReduce(markerCount: number) {
      const document = makeDocument({ chars: 400_000, markerCount, seed: markerCount });
      const before = bed.mock.requests().length;
      const { id } = await bed.client.enqueueAnalysis({
        query: `How many times does "${document.marker}" appear?`,
        context: document.text,
      });
      const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
      expect(result.finishReason).toBe("final");
      expect(result.answer.trim()).toBe(String(markerCount));
      const subRequests = bed.mock
        .requests()
        .slice(before)
        .filter((request) => request.kind === "sub");
      return { id, subRequests };
    },
  };
  beforeAll(async () => {
    bed.mock = await startMockLlmServer(mockDefaults);
    bed.client = new RlmQueueClient({ connection, prefix });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.close({ timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await bed.client?.close();
    await bed.mock?.stop();
    await deleteKeys(prefix);
  });
  return bed;
}
