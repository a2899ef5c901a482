import { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
import type { ModelClient, RlmResult } from "@rlm/core";
import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalysisReporter } from "../src/analyses/analysis-reporter.js";
import { AnalysisStore } from "../src/analyses/analysis-store.js";
import { RlmQueueClient } from "../src/client/rlm-queue-client.js";
import { ContextStore } from "../src/storage/context-store.js";
import { DocumentCache } from "../src/documents/document-cache.js";
import type { RootQueueJobData } from "../src/jobs/job-types.js";
import { AnswerBus } from "../src/answers/answer-bus.js";
import { AnswerWriter } from "../src/answers/answer-writer.js";
import { createRootProcessor } from "../src/root-job/root-processor.js";
import { createLlmQueue, createRootQueue } from "../src/jobs/queues.js";
import { deleteKeysUnder, newRedis, REDIS_OPTIONS, uniquePrefix } from "./redis-helpers.js";

// A root job's first start reads what its run is built from (its document, among them)
// together with its status update. A job whose analysis ended before it started must
// hand that document back, or the worker holds it for ever.
describe("a root job's start", () => {
  const prefix = uniquePrefix("root-start");
  const redis = newRedis();
  const client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix });
  const topology = { connection: REDIS_OPTIONS, prefix };
  const rootQueue = createRootQueue(topology);
  const llmQueue = createLlmQueue(topology);
  const sandboxFactory = createIsolatedVmSandboxFactory();
  const contexts = new ContextStore({ redis, prefix });
  // One idle document is kept: a second one evicts the first, unless a run still holds it.
  const documents = new DocumentCache(sandboxFactory, { maxIdle: 1, idleMs: 60_000 });
  const bus = new AnswerBus();
  const model: ModelClient = {
    complete: () => Promise.reject(new Error("no model call is expected")),
  };
  const processor = createRootProcessor({
    redis,
    prefix,
    contexts,
    store: new AnalysisStore({ redis, prefix }),
    rootQueue,
    llmQueue,
    model,
    sandboxFactory,
    documents,
    lane: {
      runHere: () => undefined,
      listen: (id, listener) => bus.listen(id, listener),
    },
    writer: new AnswerWriter({ redis, prefix, bus }),
    defaults: {},
  });

  beforeAll(async () => {
    await redis.ping();
  });

  afterAll(async () => {
    documents.clear();
    await rootQueue.close();
    await llmQueue.close();
    await client.close();
    await deleteKeysUnder(redis, prefix);
    await redis.quit();
  });

  it("hands back the document it read for an analysis cancelled while queued", async () => {
    const text = "The quarterly report. ".repeat(50);
    const { id } = await client.enqueueAnalysis({ query: "What is it?", context: text });
    const job = (await rootQueue.getJob(id)) as Job<RootQueueJobData>;
    const ref = job.data.contextRef;
    const key = ref.sha256;
    // The document is loaded in this process (an earlier analysis of it), and idle.
    await documents.acquire(key, () => contexts.readDocument(ref));
    documents.release(key);
    expect(documents.has(key)).toBe(true);

    expect(await client.cancel(id)).toBe("cancelled");
    const outcome = await processor(job);
    expect(outcome).toMatchObject({ analysisId: id, finishReason: "cancelled" });

    // Another document goes idle: the first is evicted only if the run handed it back.
    const other = await contexts.put("another document ".repeat(20));
    await documents.acquire(other.sha256, () => contexts.readDocument(other));
    documents.release(other.sha256);
    expect(documents.has(key)).toBe(false);
    expect(documents.size).toBe(1);
  });

  it("returns the reported result's finish reason for an analysis that ended before", async () => {
    // A run reports its result, then waits for its children; the resumed job finds the
    // analysis completed (here: with no live run in this process).
    const { id } = await client.enqueueAnalysis({ query: "What is it?", context: "a text" });
    const job = (await rootQueue.getJob(id)) as Job<RootQueueJobData>;
    const result: RlmResult = {
      answer: "a text",
      finishReason: "final",
      iterations: 1,
      totalCalls: 1,
      replHistory: [],
      messages: [{ role: "user", content: "q" }],
      usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: 0, byModel: {} },
      durationMs: 1,
    };
    expect(await new AnalysisReporter({ redis, analysisId: id, prefix }).complete(result)).toBe(
      true,
    );
    expect(await processor(job)).toEqual({ analysisId: id, finishReason: "final" });
    expect((await client.getAnalysis(id))?.status).toBe("completed");
  });
});
