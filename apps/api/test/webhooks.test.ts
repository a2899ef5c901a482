import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import {
  bullmqOptions,
  createRootQueue,
  createWebhookQueue,
  QueueName,
  redisKeys,
  type RlmWorker,
  RlmQueueClient,
  type RootJobData,
  type RootQueue,
  startRlmWorker,
  webhookJobId,
  type WebhookQueue,
} from "@rlm/queue";
import { QueueEvents } from "bullmq";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "../../../test/support/documents.js";
import type { WebhookPayload } from "../src/webhooks/delivery.js";
import { newSecret, verifyDelivery } from "../src/webhooks/signature.js";
import {
  AUTH,
  deleteKeysUnder,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
  within,
} from "./helpers.js";
import { type ReceivedDelivery, WebhookReceiver } from "./webhook-receiver.js";

// Webhooks end to end: real Redis, a worker running analyses against the mock LLM over
// HTTP, receivers on loopback. A `producer` server takes the requests and delivers
// nothing; the `deliverer` (the API as `rlm serve` runs it, with its delivery worker) is
// started in the first test, after an analysis has ended: the delivery waits for it.
const prefix = uniquePrefix("webhooks");
const secret = newSecret();
const webhooks = { secret, allowPrivate: true, jobs: { backoffMs: 200 } } as const;
let mock: MockLlmServer;
let worker: RlmWorker;
let producer: FastifyInstance;
let deliverer: FastifyInstance | undefined;
let client: RlmQueueClient;
let rootQueue: RootQueue;
let webhookQueue: WebhookQueue;
let events: QueueEvents;
let redis: Redis;
const document = makeDocument({ chars: 20_000, markerCount: 7, seed: 11 });
const query = `How many times does "${document.marker}" appear?`;

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 2 });
  const topology = { connection: REDIS_OPTIONS, prefix };
  worker = await startRlmWorker({
    ...topology,
    model: { baseURL: mock.url, apiKey: "test-key" },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  });
  producer = testServer(prefix, { webhooks: { ...webhooks, deliver: false } });
  await producer.ready();
  client = new RlmQueueClient(topology);
  rootQueue = createRootQueue(topology);
  webhookQueue = createWebhookQueue(topology);
  redis = new Redis(REDIS_OPTIONS);
  events = new QueueEvents(QueueName.webhooks, {
    ...bullmqOptions(topology),
    lastEventId: "0-0",
  });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await deliverer?.close();
  await producer?.close();
  await worker?.close({ timeoutMs: 5_000 });
  await Promise.all([client?.close(), rootQueue?.close(), webhookQueue?.close()]);
  await mock?.stop();
  await redis?.quit();
  await deleteKeysUnder(prefix);
});

/** POSTs an analysis of the test document with a webhook; its id. */
async function enqueue(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await producer.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: AUTH,
    payload: { query, context: document.text, webhook: { url }, ...extra },
  });
  expect(res.statusCode, res.body).toBe(202);
  return (res.json() as { id: string }).id;
}

/** Resolves when the delivery job of `analysisId` emits `event` (from the stream's start). */
function deliveryEvent(event: "delayed" | "completed" | "failed" | "waiting", analysisId: string) {
  const jobId = webhookJobId(analysisId);
  return new Promise<void>((resolve) => {
    const listener = (args: { jobId: string }) => {
      if (args.jobId !== jobId) return;
      events.off(event, listener);
      resolve();
    };
    events.on(event, listener);
  });
}

/**
 * Checks a delivery's signature, ours and with the Standard Webhooks reference library (a
 * receiver's), and returns its payload.
 */
function verified(delivery: ReceivedDelivery): WebhookPayload {
  const headers = delivery.headers as Record<string, string>;
  expect(verifyDelivery(secret, headers, delivery.body)).toBe(true);
  expect(verifyDelivery(newSecret(), headers, delivery.body)).toBe(false);
  expect(new Webhook(secret).verify(delivery.body, headers)).toEqual(JSON.parse(delivery.body));
  expect(() => new Webhook(newSecret()).verify(delivery.body, headers)).toThrow();
  expect(headers["content-type"]).toBe("application/json");
  return JSON.parse(delivery.body) as WebhookPayload;
}

async function startDeliverer(): Promise<void> {
  deliverer = testServer(prefix, { webhooks });
  await deliverer.ready();
}

describe("webhooks", () => {
  it("are delivered once the API is back, when the analysis ended while it was down", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const id = await enqueue(receiver.url);
      const waiting = deliveryEvent("waiting", id);
      const result = await client.waitForResult(id, { timeoutMs: 30_000 });
      expect(result.answer.trim()).toBe("7");
      await within(waiting, 10_000, "the delivery job to move on");
      expect(await (await webhookQueue.getJob(webhookJobId(id)))?.getState()).toBe("waiting");
      expect(receiver.received).toHaveLength(0);

      const delivered = deliveryEvent("completed", id);
      await startDeliverer();
      const payload = verified(await within(receiver.next(), 10_000, "the delivery"));
      expect(payload).toMatchObject({
        type: "analysis.completed",
        data: { id, status: "completed", result: { answer: result.answer, finishReason: "final" } },
      });
      expect(payload.data.error).toBeUndefined();
      expect(receiver.received[0]!.headers["webhook-id"]).toBe(`msg_${id}`);
      await within(delivered, 5_000, "the delivery job to complete");
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });

  it("reach a receiver that was down (connection refused) when the analysis ended", async () => {
    const port = await WebhookReceiver.freePort();
    const id = await enqueue(`http://127.0.0.1:${port}/hooks/rlm`);
    // A try failed (nobody listens) and the next one is scheduled.
    await within(deliveryEvent("delayed", id), 30_000, "a failed try");
    const receiver = await WebhookReceiver.start(port);
    try {
      const delivered = deliveryEvent("completed", id);
      const payload = verified(await within(receiver.next(), 15_000, "the delivery"));
      expect(payload).toMatchObject({ type: "analysis.completed", data: { id } });
      await within(delivered, 5_000, "the delivery job to complete");
      expect(receiver.received).toHaveLength(1);
      const job = await webhookQueue.getJob(webhookJobId(id));
      expect(job?.attemptsMade).toBeGreaterThanOrEqual(1);
    } finally {
      await receiver.stop();
    }
  });

  it("are tried again with the same webhook-id and body until the receiver answers 2xx", async () => {
    const receiver = await WebhookReceiver.start(0, (index) => (index < 2 ? 503 : 200));
    try {
      const id = await enqueue(receiver.url, { idempotencyKey: "retried-hook" });
      const delivered = deliveryEvent("completed", id);
      const tries = [];
      for (let i = 0; i < 3; i += 1) tries.push(await within(receiver.next(), 30_000, `try ${i}`));
      await within(delivered, 5_000, "the delivery job to complete");
      expect(tries.map((t) => t.status)).toEqual([503, 503, 200]);
      expect(new Set(tries.map((t) => t.headers["webhook-id"]))).toEqual(new Set([`msg_${id}`]));
      expect(new Set(tries.map((t) => t.body)).size).toBe(1);
      for (const t of tries) verified(t);
      // A retried POST with the same key adds no second delivery; nor does a late cancel.
      expect(await enqueue(receiver.url, { idempotencyKey: "retried-hook" })).toBe(id);
      expect(receiver.received).toHaveLength(3);
      const cancel = await producer.inject({
        method: "DELETE",
        url: `/v1/analyses/${id}`,
        headers: AUTH,
      });
      expect(cancel.statusCode).toBe(409);
      expect(await webhookQueue.getJobCounts("waiting", "delayed", "active")).toEqual({
        waiting: 0,
        delayed: 0,
        active: 0,
      });
    } finally {
      await receiver.stop();
    }
  });

  it("tell of a cancel from the API, and of a job that failed for good", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      await rootQueue.pause();
      const cancelled = await enqueue(receiver.url);
      // A document of its own: the worker may hold the shared one in memory already.
      const broken = await enqueue(receiver.url, { context: `${document.text} (copy)` });
      const res = await producer.inject({
        method: "DELETE",
        url: `/v1/analyses/${cancelled}`,
        headers: AUTH,
      });
      expect(res.json()).toEqual({ id: cancelled, outcome: "cancelled" });
      // The context of the other one is gone before a worker gets to it: its job fails.
      const job = await rootQueue.getJob(broken);
      const { contextRef } = job!.data as RootJobData;
      await redis.del(redisKeys(prefix).context(contextRef.sha256));
      await rootQueue.resume();
      const payloads = [
        verified(await within(receiver.next(), 30_000, "a delivery")),
        verified(await within(receiver.next(), 30_000, "another delivery")),
      ];
      const byId = new Map(payloads.map((payload) => [payload.data.id, payload]));
      expect(byId.get(cancelled)).toMatchObject({
        type: "analysis.cancelled",
        data: { status: "cancelled" },
      });
      expect(byId.get(broken)).toMatchObject({
        type: "analysis.failed",
        data: { status: "failed", error: { message: expect.stringMatching(/context/i) } },
      });
    } finally {
      await rootQueue.resume();
      await receiver.stop();
    }
  });

  it("record an end nobody recorded: a root job removed without its cancel written", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      await rootQueue.pause();
      const id = await enqueue(receiver.url);
      // What a producer that died between removing the job and writing `cancelled` leaves.
      expect(await rootQueue.remove(id)).toBe(1);
      await rootQueue.resume();
      const payload = verified(await within(receiver.next(), 15_000, "the delivery"));
      expect(payload).toMatchObject({ type: "analysis.cancelled", data: { id } });
      const view = await client.getAnalysis(id);
      expect(view?.status).toBe("cancelled");
    } finally {
      await rootQueue.resume();
      await receiver.stop();
    }
  });
});

describe("a webhook in POST /v1/analyses", () => {
  it("is refused with a 400 by a server without RLM_WEBHOOK_SECRET", async () => {
    const plain = testServer(prefix);
    try {
      const res = await plain.inject({
        method: "POST",
        url: "/v1/analyses",
        headers: AUTH,
        payload: { query: "q", context: "d", webhook: { url: "https://example.com/hook" } },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/RLM_WEBHOOK_SECRET/);
    } finally {
      await plain.close();
    }
  });

  it("must be http(s), and public unless RLM_WEBHOOK_ALLOW_PRIVATE=1", async () => {
    const strict = testServer(prefix, { webhooks: { secret, deliver: false } });
    try {
      const post = (webhook: unknown, server = strict) =>
        server.inject({
          method: "POST",
          url: "/v1/analyses",
          headers: AUTH,
          payload: { query: "q", context: "d", webhook },
        });
      const loopback = await post({ url: "http://127.0.0.1:8080/hook" });
      expect(loopback.statusCode).toBe(400);
      expect(loopback.json().error.message).toMatch(/RLM_WEBHOOK_ALLOW_PRIVATE=1/);
      const metadata = await post({ url: "http://169.254.169.254/latest/meta-data" });
      expect(metadata.statusCode).toBe(400);
      const ftp = await post({ url: "ftp://example.com/x" }, producer);
      expect(ftp.statusCode).toBe(400);
      expect(ftp.json().error.message).toMatch(/http\(s\)/);
      const extra = await post({ url: "https://example.com/x", secret: "x" }, producer);
      expect(extra.statusCode).toBe(400);
      // Multipart and text uploads take it as JSON text.
      const text = await producer.inject({
        method: "POST",
        url: `/v1/analyses?query=q&webhook=${encodeURIComponent('{"url":"ftp://x"}')}`,
        headers: { ...AUTH, "content-type": "text/plain" },
        payload: "document",
      });
      expect(text.statusCode).toBe(400);
      expect(text.json().error.message).toMatch(/http\(s\)/);
      const form = new FormData();
      form.append("query", "q");
      form.append("webhook", JSON.stringify({ url: "ftp://x" }));
      form.append("context", new Blob(["document"]), "doc.txt");
      const body = new Response(form);
      const multipart = await producer.inject({
        method: "POST",
        url: "/v1/analyses",
        headers: { ...AUTH, "content-type": body.headers.get("content-type")! },
        payload: Buffer.from(await body.arrayBuffer()),
      });
      expect(multipart.statusCode).toBe(400);
      expect(multipart.json().error.message).toMatch(/http\(s\)/);
    } finally {
      await strict.close();
    }
  });
});
