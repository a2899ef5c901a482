import type { RlmResult } from "@rlm/core";
import { AnalysisReporter } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
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
import { readSse } from "./sse-reader.js";

const prefix = uniquePrefix("events");
let app: FastifyInstance;
let baseUrl: string;
let redis: Redis;

beforeAll(async () => {
  app = testServer(prefix, { heartbeatMs: 200 });
  baseUrl = await listen(app);
  redis = new Redis(REDIS_OPTIONS);
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
  await redis.quit();
});

async function createAnalysis(): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: AUTH,
    payload: { query: "q", context: "a document" },
  });
  expect(res.statusCode).toBe(202);
  return (res.json() as { id: string }).id;
}

function result(answer: string): RlmResult {
  const usage = { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, costUsd: null };
  return {
    answer,
    finishReason: "final",
    iterations: 1,
    totalCalls: 1,
    replHistory: [],
    messages: [],
    usage: { ...usage, byModel: { mock: usage } },
    durationMs: 12,
  };
}

function openStream(id: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${baseUrl}/v1/analyses/${id}/events`, {
    headers: AUTH,
    ...(signal ? { signal } : {}),
  });
}

describe("GET /v1/analyses/:id/events", () => {
  it("streams live events until the terminal one, then ends", async () => {
    const id = await createAnalysis();
    const reporter = new AnalysisReporter({ redis, analysisId: id, prefix });
    const response = await openStream(id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);

    let publishing: Promise<unknown> | undefined;
    const messages = await within(
      readSse(response, () => {
        // The first write (`retry:`) says the stream is open: publish only now, so the
        // events arrive live rather than as history.
        publishing ??= (async () => {
          await reporter.running();
          await reporter.progress({ iteration: 1 });
          await reporter.complete(result("forty-two"));
        })();
      }),
      10_000,
      "the terminal event",
    );
    await publishing;
    const events = messages.filter((m) => m.event !== undefined);
    expect(events.map((m) => m.event)).toEqual(["status", "progress", "completed"]);
    expect(events[0]!.data).toEqual({ type: "status", status: "running" });
    expect(events.at(-1)!.data).toMatchObject({ type: "completed", answer: "forty-two" });
    expect(events.every((m) => /^\d+-\d+$/.test(m.id ?? ""))).toBe(true);
  });

  it("replays the history to a late subscriber and ends at the terminal event", async () => {
    const id = await createAnalysis();
    const reporter = new AnalysisReporter({ redis, analysisId: id, prefix });
    await reporter.running();
    await reporter.fail(new Error("model exploded"));

    const response = await openStream(id);
    const messages = await within(readSse(response), 10_000, "the history");
    const events = messages.filter((m) => m.event !== undefined);
    expect(events.map((m) => m.event)).toEqual(["status", "failed"]);
    expect(events[1]!.data).toMatchObject({
      type: "failed",
      error: { code: "internal_error", message: "model exploded" },
    });
  });

  it("resumes after Last-Event-ID", async () => {
    const id = await createAnalysis();
    const reporter = new AnalysisReporter({ redis, analysisId: id, prefix });
    await reporter.running();
    await reporter.cancelled(undefined, "stop");
    const all = (await within(readSse(await openStream(id)), 10_000, "history")).filter(
      (m) => m.event,
    );
    const resumed = await fetch(`${baseUrl}/v1/analyses/${id}/events`, {
      headers: { ...AUTH, "last-event-id": all[0]!.id! },
    });
    const rest = (await within(readSse(resumed), 10_000, "resumed")).filter((m) => m.event);
    expect(rest.map((m) => m.event)).toEqual(["cancelled"]);
  });

  it("sends heartbeats while waiting, and stops reading when the client disconnects", async () => {
    const id = await createAnalysis();
    const controller = new AbortController();
    const response = await openStream(id, controller.signal);
    const heartbeat = new Promise<void>((resolve) => {
      readSse(response, (message) => {
        if (message.comment === "heartbeat") resolve();
      }).catch(() => {});
    });
    await within(heartbeat, 5_000, "a heartbeat");

    // One reader connection serves every stream of the process.
    const list = String(await redis.client("LIST"));
    const readers = list
      .split("\n")
      .filter((line) => line.includes(`name=rlm-api:${prefix}:events`));
    expect(readers).toHaveLength(1);
    expect(app.openEventStreams()).toBe(1);
    controller.abort();
    // The server notices the closed socket and stops following that analysis.
    await within(
      (async () => {
        while (app.openEventStreams() > 0) await new Promise((r) => setTimeout(r, 20));
      })(),
      5_000,
      "the subscription to end",
    );
  });

  it("answers 401 without a token", async () => {
    const id = await createAnalysis();
    const response = await fetch(`${baseUrl}/v1/analyses/${id}/events`);
    expect(response.status).toBe(401);
  });
});
