import { InvalidOptionsError, type RlmResult } from "@rlm/core";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalysisEvent } from "../src/analyses/analysis-events.js";
import { isAnalysisId } from "../src/analyses/analysis-id.js";
import { AnalysisReporter } from "../src/analyses/analysis-reporter.js";
import { RlmQueueClient } from "../src/client/rlm-queue-client.js";
import { ContextStore } from "../src/storage/context-store.js";
import type { RootJobData, RootJobResult } from "../src/jobs/job-types.js";
import { redisKeys } from "../src/storage/keys.js";
import { QueueName } from "../src/jobs/queue-names.js";
import { bullmqOptions, createRootQueue, type RootQueue } from "../src/jobs/queues.js";
import {
  deleteKeysUnder,
  keysUnder,
  newRedis,
  REDIS_OPTIONS,
  uniquePrefix,
  within,
} from "./redis-helpers.js";

const prefix = uniquePrefix("client");
let redis: Redis;
let client: RlmQueueClient;
let queue: RootQueue;

const document = "A long document. ".repeat(60_000); // ~1 MB

function fakeResult(answer: string): RlmResult {
  return {
    answer,
    finishReason: "final",
    iterations: 2,
    totalCalls: 3,
    replHistory: [],
    messages: [{ role: "user", content: "q" }],
    usage: {
      inputTokens: 100,
      outputTokens: 20,
      cachedInputTokens: 0,
      costUsd: 0.001,
      byModel: {},
    },
    durationMs: 12,
  };
}

beforeAll(() => {
  redis = newRedis();
  client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix });
  queue = createRootQueue({ connection: REDIS_OPTIONS, prefix });
});

afterAll(async () => {
  await client.close();
  await queue.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

describe("RlmQueueClient.enqueueAnalysis", () => {
  it("adds a root job that carries the context reference, not the document", async () => {
    const { id, status, deduplicated } = await client.enqueueAnalysis({
      query: "What is this about?",
      context: document,
      options: { maxIterations: 4 },
    });
    expect(isAnalysisId(id)).toBe(true);
    expect(status).toBe("queued");
    expect(deduplicated).toBe(false);
    const job = await queue.getJob(id);
    // Named for a person reading Bull Board: what it is, its analysis, its query.
    expect(job?.name).toBe(`analysis ${id} · "What is this about?"`);
    const data = job!.data as RootJobData;
    expect(data).toMatchObject({ analysisId: id, query: "What is this about?", depth: 0 });
    expect(data.options).toEqual({ maxIterations: 4 });
    expect(data.contextRef).toMatchObject({ kind: "string", chars: document.length });
    expect(JSON.stringify(job!.data).length).toBeLessThan(1_000);
    expect(job!.opts.attempts).toBeGreaterThan(1);
    const contexts = new ContextStore({ redis, prefix });
    expect(await contexts.get(data.contextRef)).toBe(document);

    const view = await client.getAnalysis(id);
    expect(view).toMatchObject({ id, status: "queued", query: "What is this about?" });
    expect(view?.progress).toMatchObject({ iteration: 0, maxIterations: 4, subCallsDone: 0 });
    expect(Date.parse(view!.createdAt)).not.toBeNaN();
  });

  it("returns the same analysis for the same idempotency key, with one job", async () => {
    const input = { query: "q", context: ["a", "b"], idempotencyKey: "order-17" };
    const first = await client.enqueueAnalysis(input);
    const second = await client.enqueueAnalysis(input);
    expect(second).toEqual({ id: first.id, status: "queued", deduplicated: true });
    // Five producers racing on a fresh key: one creates, the others find its analysis.
    const race = { query: "race", context: "doc", idempotencyKey: "order-18" };
    const racing = await Promise.all(Array.from({ length: 5 }, () => client.enqueueAnalysis(race)));
    expect(new Set(racing.map((r) => r.id)).size).toBe(1);
    expect(racing.filter((r) => !r.deduplicated)).toHaveLength(1);
    const jobs = await queue.getJobs(["waiting"]);
    expect(jobs.filter((j) => j.data.query === "q")).toHaveLength(1);
    expect(jobs.filter((j) => j.data.query === "race")).toHaveLength(1);
    // The record is written before the key is bound: the losers deleted theirs.
    const records = await keysUnder(redis, `${prefix}:analysis`);
    const queries = await Promise.all(records.map((key) => redis.hget(key, "query")));
    expect(queries.filter((query) => query === "race")).toHaveLength(1);
  });

  it("re-adds the job on a retried key whose first call died before adding it", async () => {
    const first = await client.enqueueAnalysis({
      query: "lost",
      context: "x",
      idempotencyKey: "k-lost",
    });
    await queue.remove(first.id);
    const retry = await client.enqueueAnalysis({
      query: "lost",
      context: "x",
      idempotencyKey: "k-lost",
    });
    expect(retry.id).toBe(first.id);
    expect(await queue.getJob(first.id)).toBeDefined();
  });

  it.each([
    ["an empty query", { query: "  ", context: "text" }],
    ["a non-string query", { query: 42, context: "text" }],
    ["an empty string context", { query: "q", context: "" }],
    ["an empty array context", { query: "q", context: [] }],
    ["an empty object context", { query: "q", context: {} }],
    ["a number context", { query: "q", context: 7 }],
    ["a null context", { query: "q", context: null }],
    ["a Date context", { query: "q", context: new Date() }],
    ["an empty idempotency key", { query: "q", context: "t", idempotencyKey: "" }],
  ])("rejects %s with invalid_input", async (_, input) => {
    const error = await client
      .enqueueAnalysis(input as unknown as Parameters<RlmQueueClient["enqueueAnalysis"]>[0])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "invalid_input", retryable: false });
  });

  it("rejects invalid engine options with invalid_options", async () => {
    const error = await client
      .enqueueAnalysis({ query: "q", context: "t", options: { maxIterations: -1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
  });
});

describe("RlmQueueClient reads", () => {
  it("returns null for an unknown analysis", async () => {
    expect(await client.getAnalysis("an_aaaaaaaaaaaaaaaaaaaa")).toBeNull();
    expect(await client.cancel("an_aaaaaaaaaaaaaaaaaaaa")).toBe("not_found");
    await expect(client.waitForResult("an_unknown", { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("RlmQueueClient.waitForResult", () => {
  it("resolves when a worker completes the analysis through AnalysisReporter", async () => {
    const contexts = new ContextStore({ redis, prefix });
    const worker = new Worker<RootJobData, RootJobResult>(
      QueueName.root,
      async (job: Job<RootJobData, RootJobResult>) => {
        const reporter = new AnalysisReporter({ redis, prefix, analysisId: job.data.analysisId });
        await reporter.running();
        const context = await contexts.get(job.data.contextRef);
        await reporter.engineEvent({
          type: "iteration_start",
          depth: 0,
          iteration: 1,
          maxIterations: 10,
        });
        await reporter.engineEvent({
          type: "subcall_start",
          depth: 0,
          id: "s1",
          query: "q",
          contextChars: 5,
          replayed: false,
        });
        await reporter.engineEvent({
          type: "subcall_end",
          depth: 0,
          id: "s1",
          durationMs: 1,
          replayed: false,
        });
        await reporter.complete(fakeResult(`read ${String(context).length} chars`));
        return { analysisId: job.data.analysisId, finishReason: "final" };
      },
      { ...bullmqOptions({ connection: REDIS_OPTIONS, prefix }), autorun: false },
    );
    try {
      // Enqueue and start waiting before the worker runs: the wait must see the whole run.
      const { id } = await client.enqueueAnalysis({ query: "count", context: "hello" });
      const result = client.waitForResult(id, { timeoutMs: 10_000 });
      const events: AnalysisEvent[] = [];
      const followed = (async () => {
        for await (const entry of client.events(id)) events.push(entry.event);
      })();
      void worker.run();
      expect((await result).answer).toBe("read 5 chars");
      await within(followed, 5_000, "the event stream to end");
      expect(events.map((e) => e.type)).toEqual([
        "status",
        "iteration",
        "progress",
        "subcall",
        "progress",
        "subcall",
        "progress",
        "completed",
      ]);
      const view = await client.getAnalysis(id);
      expect(view?.status).toBe("completed");
      expect(view?.progress).toMatchObject({
        iteration: 1,
        subCallsTotal: 1,
        subCallsDone: 1,
        inputTokens: 100,
        costUsd: 0.001,
      });
      expect(view?.result?.answer).toBe("read 5 chars");
      expect(await redis.ttl(redisKeys(prefix).analysis(id))).toBeGreaterThan(0);
    } finally {
      await worker.close();
    }
  });

  it("rejects with timeout when nobody completes it", async () => {
    const { id } = await client.enqueueAnalysis({ query: "never", context: "nothing" });
    const error = await client.waitForResult(id, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "timeout", retryable: true });
  });

  it("rejects with analysis_failed when the worker records a failure", async () => {
    const { id } = await client.enqueueAnalysis({ query: "fail", context: "doc" });
    const waiting = client.waitForResult(id, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    const reporter = new AnalysisReporter({ redis, prefix, analysisId: id });
    await reporter.running();
    expect(await reporter.fail(new Error("model exploded"))).toBe(true);
    // Terminal states are final: a late completion changes nothing.
    expect(await reporter.complete(fakeResult("too late"))).toBe(false);
    expect(await waiting).toMatchObject({
      code: "analysis_failed",
      analysisError: { code: "internal_error", message: "model exploded" },
    });
  });
});

describe("RlmQueueClient.cancel", () => {
  it("removes a queued analysis's job and marks it cancelled", async () => {
    const { id } = await client.enqueueAnalysis({ query: "cancel me", context: "doc" });
    expect(await queue.getJob(id)).toBeDefined();
    expect(await client.cancel(id)).toBe("cancelled");
    expect(await queue.getJob(id)).toBeUndefined();
    const view = await client.getAnalysis(id);
    expect(view).toMatchObject({ status: "cancelled", cancelRequested: true });
    await expect(client.waitForResult(id, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: "cancelled",
    });
    const events: AnalysisEvent[] = [];
    for await (const entry of client.events(id)) events.push(entry.event);
    expect(events.at(-1)?.type).toBe("cancelled");
    expect(await client.cancel(id)).toBe("already_finished");
  });

  it("only flags a running analysis, for its worker to stop", async () => {
    const { id } = await client.enqueueAnalysis({ query: "running", context: "doc" });
    const reporter = new AnalysisReporter({ redis, prefix, analysisId: id });
    await reporter.running();
    expect(await client.isCancelRequested(id)).toBe(false);
    expect(await client.cancel(id)).toBe("requested");
    expect(await client.isCancelRequested(id)).toBe(true);
    expect(await reporter.isCancelRequested()).toBe(true);
    expect((await client.getAnalysis(id))?.status).toBe("running");
    expect(await reporter.cancelled(undefined, "stopped by worker")).toBe(true);
    await expect(client.waitForResult(id, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: "cancelled",
    });
  });
});
