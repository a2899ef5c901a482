import { AnalysisReporter } from "@rlm/queue";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUTH,
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
  within,
} from "./helpers.js";
import { RedisLink } from "./redis-link.js";
import { readSse } from "./sse-reader.js";

// The API answers within 2 s whatever Redis does: a 503 with Retry-After when Redis is
// down (connections reset) or hung (connections open, no answer), and normal answers
// again once it is back. The API reaches the shared test Redis through a relay the test
// breaks; nothing else is touched.

const prefix = uniquePrefix("outage");
const DEADLINE_MS = 2_000;
let link: RedisLink;
let app: FastifyInstance;
let knownId: string;

beforeAll(async () => {
  link = await RedisLink.open();
  app = testServer(prefix, { connection: { host: "127.0.0.1", port: link.port } });
  await app.ready();
  knownId = (await postAnalysis()).json().id as string;
});

afterAll(async () => {
  await link.close();
  await within(app.close(), 10_000, "close with the relay gone");
  await deleteKeysUnder(prefix);
});

function postAnalysis(headers: Record<string, string> = {}, context = "a document") {
  return app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: { ...AUTH, ...headers },
    payload: { query: "q", context },
  });
}

/** Each route that reads or writes Redis for a request. */
const REQUESTS: Array<[string, () => Promise<LightMyRequestResponse>]> = [
  ["POST /v1/analyses", () => postAnalysis()],
  ["GET /v1/analyses/:id", () => app.inject({ url: `/v1/analyses/${knownId}`, headers: AUTH })],
  [
    "GET /v1/analyses/:id/events",
    () => app.inject({ url: `/v1/analyses/${knownId}/events`, headers: AUTH }),
  ],
  [
    "DELETE /v1/analyses/:id",
    () => app.inject({ method: "DELETE", url: `/v1/analyses/${knownId}`, headers: AUTH }),
  ],
];

async function expectUnavailableInTime(send: () => Promise<LightMyRequestResponse>) {
  const started = performance.now();
  const response = await within(send(), 5_000, "an answer");
  const elapsed = performance.now() - started;
  expect(response.statusCode).toBe(503);
  expect(elapsed).toBeLessThan(DEADLINE_MS);
  expect(Number(response.headers["retry-after"])).toBeGreaterThan(0);
  expect(response.json()).toEqual({
    error: { code: "redis_unavailable", message: expect.any(String), retryable: true },
  });
}

/** Waits (bounded) until the API reaches Redis again: `/health` says so. */
async function untilHealthy() {
  await within(
    (async () => {
      while ((await app.inject({ url: "/health" })).statusCode !== 200) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })(),
    10_000,
    "the API to reach Redis again",
  );
}

describe.each([
  ["down (connections reset)", () => link.cut()],
  ["hung (connections open, no answer)", () => link.freeze()],
])("Redis %s", (_name, breakRedis) => {
  beforeAll(() => breakRedis());
  afterAll(async () => {
    link.restore();
    await untilHealthy();
  });

  for (const [route, send] of REQUESTS) {
    it(`${route} answers 503 with Retry-After within 2 s`, async () => {
      await expectUnavailableInTime(send);
    });
  }

  it("GET /health answers 503 within 2 s", async () => {
    const started = performance.now();
    const response = await app.inject({ url: "/health" });
    expect(response.statusCode).toBe(503);
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS);
  });
});

describe("after an outage", () => {
  it("serves requests again once Redis is back", async () => {
    link.cut();
    await expectUnavailableInTime(() => postAnalysis());
    link.restore();
    await untilHealthy();
    expect((await postAnalysis()).statusCode).toBe(202);
    const view = await app.inject({ url: `/v1/analyses/${knownId}`, headers: AUTH });
    expect(view.statusCode).toBe(200);
  });

  it("Bull Board and the viewer answer 503 once the API has seen Redis go", async () => {
    link.cut();
    try {
      for (const url of ["/admin/queues/api/queues", "/admin/viewer"]) {
        // Until the connection has noticed the reset, Bull Board may answer its own 500;
        // from then on, 503 at once. Every answer comes fast either way.
        await within(
          (async () => {
            for (;;) {
              const started = performance.now();
              const res = await app.inject({ url, headers: AUTH });
              expect(performance.now() - started).toBeLessThan(DEADLINE_MS);
              if (res.statusCode === 503) return res;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
          DEADLINE_MS,
          `${url} to answer 503`,
        );
      }
    } finally {
      link.restore();
    }
    await untilHealthy();
    const board = await app.inject({ url: "/admin/queues/api/queues", headers: AUTH });
    expect(board.statusCode).toBe(200);
  });

  it("an open event stream waits through the outage and goes on", async () => {
    const id = (await postAnalysis()).json().id as string;
    const baseUrl = await listen(app);
    const response = await fetch(`${baseUrl}/v1/analyses/${id}/events`, { headers: AUTH });
    expect(response.status).toBe(200);
    const reading = readSse(response);
    link.cut();
    link.restore();
    await untilHealthy();
    const redis = new Redis(REDIS_OPTIONS);
    try {
      const reporter = new AnalysisReporter({ redis, analysisId: id, prefix });
      await reporter.running();
      await reporter.cancelled(undefined, "after the outage");
    } finally {
      await redis.quit();
    }
    const events = (await within(reading, 15_000, "the events after the outage")).flatMap(
      (message) => (message.event ? [message.event] : []),
    );
    expect(events).toEqual(["status", "cancelled"]);
  });

  it("a POST retried with its Idempotency-Key creates one analysis", async () => {
    const key = `outage-${Date.now()}`;
    link.freeze();
    // Its commands may reach Redis once it wakes up: the client cannot know.
    await expectUnavailableInTime(() => postAnalysis({ "idempotency-key": key }));
    link.restore();
    await untilHealthy();
    const retried = await postAnalysis({ "idempotency-key": key });
    expect(retried.statusCode).toBe(202);
    const again = await postAnalysis({ "idempotency-key": key });
    expect(again.json()).toMatchObject({ id: retried.json().id, deduplicated: true });
  });
});
