import { type Job, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RlmQueueClient } from "../src/client/rlm-queue-client.js";
import type { RootJobData } from "../src/jobs/job-types.js";
import { QueueName } from "../src/jobs/queue-names.js";
import { bullmqOptions, createRootQueue, type RootQueue } from "../src/jobs/queues.js";
import { redisKeys } from "../src/storage/keys.js";
import { createWebhookQueue, webhookJobId, type WebhookQueue } from "../src/jobs/webhook-jobs.js";
import { deleteKeysUnder, newRedis, REDIS_OPTIONS, uniquePrefix, within } from "./redis-helpers.js";

// An analysis with a webhook is added as a flow: its delivery job waits for the root job,
// and BullMQ moves it on however the root job ends. Nothing here processes deliveries:
// the test only watches the delivery job leave waiting-children.
const prefix = uniquePrefix("webhook-flow");
const topology = { connection: REDIS_OPTIONS, prefix };
let redis: Redis;
let client: RlmQueueClient;
let rootQueue: RootQueue;
let webhooks: WebhookQueue;
let events: QueueEvents;

beforeAll(async () => {
  redis = newRedis();
  client = new RlmQueueClient(topology);
  rootQueue = createRootQueue(topology);
  webhooks = createWebhookQueue(topology);
  events = new QueueEvents(QueueName.webhooks, {
    ...bullmqOptions(topology),
    lastEventId: "0-0",
  });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events.close();
  await webhooks.close();
  await rootQueue.close();
  await client.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

/** Resolves when the delivery job of `analysisId` becomes waiting (its root job ended). */
function deliveryWaiting(analysisId: string): Promise<void> {
  const jobId = webhookJobId(analysisId);
  return new Promise((resolve) => {
    const listener = (event: { jobId: string }) => {
      if (event.jobId !== jobId) return;
      events.off("waiting", listener);
      resolve();
    };
    events.on("waiting", listener);
  });
}

/** Runs the root queue's jobs with `process` until `count` jobs were taken. */
async function runRootJobs(process: (job: Job<RootJobData>) => Promise<unknown>) {
  const worker = new Worker<RootJobData>(QueueName.root, process, bullmqOptions(topology));
  worker.on("error", () => {});
  return worker;
}

describe("an analysis with a webhook", () => {
  it("is a flow: the delivery job waits for the root job, with the URL and the record's", async () => {
    const url = "https://hooks.example.com/rlm?x=1";
    const { id } = await client.enqueueAnalysis({ query: "q", context: "d", webhook: { url } });
    const delivery = await webhooks.getJob(webhookJobId(id));
    expect(delivery?.data).toEqual({ analysisId: id, url });
    expect(await delivery?.getState()).toBe("waiting-children");
    expect(delivery?.opts.attempts).toBeGreaterThanOrEqual(5);
    expect(delivery?.opts.backoff).toMatchObject({ type: "exponential" });
    const root = await rootQueue.getJob(id);
    expect(root?.parent?.id).toBe(webhookJobId(id));
    // The root job keeps the root queue's retries although it was added in a flow.
    expect(root?.opts.attempts).toBe(3);
    expect(await redis.hget(redisKeys(prefix).analysis(id), "webhook")).toBe(
      JSON.stringify({ url }),
    );
    // Enqueued again with its key: neither a second analysis nor a second delivery.
    const keyed = await client.enqueueAnalysis({
      query: "q",
      context: "d",
      webhook: { url },
      idempotencyKey: "hook-key",
    });
    const again = await client.enqueueAnalysis({
      query: "q",
      context: "d",
      webhook: { url },
      idempotencyKey: "hook-key",
    });
    expect(again).toMatchObject({ id: keyed.id, deduplicated: true });
    expect(await webhooks.getJobCountByTypes("waiting-children")).toBe(2);
    await client.cancel(id);
    await client.cancel(keyed.id);
  });

  it("moves on when the root job completes, fails for good, or is removed by a cancel", async () => {
    const url = "http://127.0.0.1:1/hook";
    const done = await client.enqueueAnalysis({ query: "done", context: "d", webhook: { url } });
    const broken = await client.enqueueAnalysis({
      query: "broken",
      context: "d",
      webhook: { url },
    });
    const waits = [deliveryWaiting(done.id), deliveryWaiting(broken.id)];
    const worker = await runRootJobs(async (job) => {
      if (job.data.query === "broken") throw new UnrecoverableError("the job itself failed");
      return { analysisId: job.data.analysisId, finishReason: "final" };
    });
    try {
      await within(Promise.all(waits), 10_000, "deliveries after the root jobs ended");
    } finally {
      await worker.close();
    }
    const failed = await webhooks.getJob(webhookJobId(broken.id));
    expect(Object.values(await failed!.getIgnoredChildrenFailures())).toEqual([
      "the job itself failed",
    ]);

    const queued = await client.enqueueAnalysis({
      query: "queued",
      context: "d",
      webhook: { url },
    });
    const cancelled = deliveryWaiting(queued.id);
    expect(await client.cancel(queued.id)).toBe("cancelled");
    await within(cancelled, 5_000, "the delivery after a cancel while queued");
  });

  it("refuses a webhook URL that is not http(s)", async () => {
    for (const url of ["ftp://example.com/x", "not a url", "x".repeat(3_000)]) {
      await expect(
        client.enqueueAnalysis({ query: "q", context: "d", webhook: { url } }),
      ).rejects.toMatchObject({ code: "invalid_input", message: /webhook\.url/ });
    }
  });
});
