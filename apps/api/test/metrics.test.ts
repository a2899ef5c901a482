import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { type RlmWorker, startRlmWorker } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUTH,
  deleteKeysUnder,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
  within,
} from "./helpers.js";
import { sample } from "./metrics-text.js";
import { RedisLink } from "./redis-link.js";

// GET /metrics on a real server over real Redis: what the API counts itself (analyses
// enqueued, cancelled while queued) and the queues' figures read from Redis at each
// scrape (BullMQ's job counts and its own completed/failed metrics), behind the token.
const prefix = uniquePrefix("metrics");
let app: FastifyInstance;
let mock: MockLlmServer;

beforeAll(async () => {
  app = testServer(prefix);
  await app.ready();
  mock = await startMockLlmServer({ strategy: "needle" });
});

afterAll(async () => {
  await app.close();
  await mock?.stop();
  await deleteKeysUnder(prefix);
});

async function scrape(server = app): Promise<string> {
  const res = await server.inject({ url: "/metrics", headers: AUTH });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return res.body;
}

function post(idempotencyKey: string) {
  return app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: { ...AUTH, "idempotency-key": idempotencyKey },
    payload: { query: "Where is the needle?", context: "hay\n".repeat(50) + "NEEDLE: 42\n" },
  });
}

const root = (state: string) => ({ queue: "rlm-root", state });

describe("GET /metrics", () => {
  it("takes the Bearer token like every route but /health", async () => {
    const res = await app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("counts analyses enqueued (and deduplicated), and reads the queue's depth", async () => {
    expect(sample(await scrape(), "rlm_queue_jobs", root("waiting"))).toBe(0);
    const first = (await post("metrics-1")).json() as { id: string };
    expect((await post("metrics-1")).json()).toMatchObject({ id: first.id, deduplicated: true });
    const text = await scrape();
    expect(sample(text, "rlm_analyses_enqueued_total", { deduplicated: "false" })).toBe(1);
    expect(sample(text, "rlm_analyses_enqueued_total", { deduplicated: "true" })).toBe(1);
    expect(sample(text, "rlm_queue_jobs", root("waiting"))).toBe(1);
    expect(sample(text, "rlm_queue_jobs", { queue: "rlm-llm", state: "waiting" })).toBe(0);
    expect(sample(text, "rlm_queue_metrics_up")).toBe(1);

    // Cancelled while queued: it ends here, in the API, and never reaches a worker.
    const cancel = await app.inject({
      method: "DELETE",
      url: `/v1/analyses/${first.id}`,
      headers: AUTH,
    });
    expect(cancel.json()).toMatchObject({ outcome: "cancelled" });
    const after = await scrape();
    const cancelled = { status: "cancelled", finish_reason: "none" };
    expect(sample(after, "rlm_analyses_finished_total", cancelled)).toBe(1);
    expect(sample(after, "rlm_queue_jobs", root("waiting"))).toBe(0);
  });

  it("reads BullMQ's counts of completed jobs and the workers connected", async () => {
    let worker: RlmWorker | undefined;
    try {
      worker = await startRlmWorker({
        connection: REDIS_OPTIONS,
        prefix,
        model: { baseURL: mock.url, apiKey: "test-key" },
      });
      const enqueued = (await post("metrics-2")).json() as { id: string };
      // The analysis's terminal state, read through the API.
      await within(
        (async () => {
          for (;;) {
            const view = await app.inject({ url: `/v1/analyses/${enqueued.id}`, headers: AUTH });
            if (view.json<{ status: string }>().status === "completed") return;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        30_000,
        "the analysis completes",
      );
      // BullMQ completes the root job just after the record says so.
      let text = "";
      await within(
        (async () => {
          do text = await scrape();
          while (sample(text, "rlm_queue_jobs", root("completed")) !== 1);
        })(),
        5_000,
        "the root job completes",
      );
      expect(sample(text, "rlm_queue_jobs_finished_total", root("completed"))).toBe(1);
      expect(sample(text, "rlm_queue_jobs_finished_total", root("failed"))).toBe(0);
      expect(sample(text, "rlm_queue_workers", { queue: "rlm-root" })).toBe(1);
      expect(sample(text, "rlm_queue_workers", { queue: "rlm-llm" })).toBe(1);
      // It ended in the worker: counted there (its --metrics-port), not here.
      const completed = { status: "completed", finish_reason: "final" };
      expect(sample(text, "rlm_analyses_finished_total", completed)).toBeUndefined();
    } finally {
      await worker?.close({ timeoutMs: 5_000 });
    }
  });

  it("answers within 2 s while Redis hangs, without the queue figures", async () => {
    const link = await RedisLink.open();
    const cut = testServer(prefix, { connection: { host: "127.0.0.1", port: link.port } });
    try {
      await cut.ready();
      expect(sample(await scrape(cut), "rlm_queue_metrics_up")).toBe(1);
      link.freeze();
      const startedAt = Date.now();
      const text = await scrape(cut);
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      expect(sample(text, "rlm_queue_metrics_up")).toBe(0);
      expect(sample(text, "rlm_queue_jobs", root("waiting"))).toBeUndefined();
      link.restore();
      await within(
        (async () => {
          while (sample(await scrape(cut), "rlm_queue_metrics_up") !== 1) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })(),
        10_000,
        "the figures come back with Redis",
      );
    } finally {
      link.restore();
      await link.close();
      await within(cut.close(), 10_000, "close");
    }
  });
});
