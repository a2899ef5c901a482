import { AnalysisReporter, redisKeys } from "@rlm/queue";
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

// Hundreds of event streams are served from one Redis subscription: the API's Redis
// connections stay a handful, and every stream gets every event of its analysis, in
// order, whether it was open from the start or joined later and replayed the history.

const prefix = uniquePrefix("sse-scale");
const ANALYSES = 120;
/** Streams per analysis: two open early, one opened after the first events. */
const EARLY_PER_ANALYSIS = 2;
const STREAMS = ANALYSES * (EARLY_PER_ANALYSIS + 1);
let app: FastifyInstance;
let baseUrl: string;
let redis: Redis;
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);

beforeAll(async () => {
  process.on("warning", onWarning);
  app = testServer(prefix, { heartbeatMs: 60_000 });
  baseUrl = await listen(app);
  redis = new Redis(REDIS_OPTIONS);
});

afterAll(async () => {
  process.off("warning", onWarning);
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

/** Opens a stream and reads it to its end; resolves with the event ids and types. */
async function follow(id: string): Promise<Array<{ id: string; event: string }>> {
  const response = await fetch(`${baseUrl}/v1/analyses/${id}/events`, { headers: AUTH });
  expect(response.status).toBe(200);
  const messages = await readSse(response);
  return messages.flatMap((m) => (m.event ? [{ id: m.id ?? "", event: m.event }] : []));
}

/** The API's connections to Redis, by the names it gives them. */
async function apiConnections(): Promise<string[]> {
  const list = String(await redis.client("LIST"));
  return list.split("\n").filter((line) => line.includes(`name=rlm-api:${prefix}:`));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    30_000,
    what,
  );
}

describe(`${STREAMS} concurrent event streams`, () => {
  it("hold at most 5 Redis connections and each gets every event in order", async () => {
    const ids = await Promise.all(Array.from({ length: ANALYSES }, () => createAnalysis()));
    const reporters = ids.map((id) => new AnalysisReporter({ redis, analysisId: id, prefix }));

    const early = ids.flatMap((id) => Array.from({ length: EARLY_PER_ANALYSIS }, () => follow(id)));
    await until(() => app.openEventStreams() === early.length, "the early streams to open");
    await Promise.all(reporters.map((reporter) => reporter.running()));
    await Promise.all(reporters.map((reporter) => reporter.progress({ iteration: 1 })));

    // Late subscribers replay what they missed while the early ones read on.
    const late = ids.map((id) => follow(id));
    await until(() => app.openEventStreams() === STREAMS, "every stream to open");
    const connections = await apiConnections();
    expect(connections.length).toBeLessThanOrEqual(5);
    expect(connections.filter((line) => line.includes(":events"))).toHaveLength(1);

    for (let iteration = 2; iteration <= 4; iteration += 1) {
      await Promise.all(reporters.map((reporter) => reporter.progress({ iteration })));
    }
    await Promise.all(reporters.map((reporter) => reporter.cancelled(undefined, "done")));

    const received = await within(Promise.all([...early, ...late]), 60_000, "every stream");
    expect(received).toHaveLength(STREAMS);
    for (const [index, events] of received.entries()) {
      const id =
        index < early.length
          ? ids[Math.floor(index / EARLY_PER_ANALYSIS)]!
          : ids[index - early.length]!;
      const stored = await redis.xrange(redisKeys(prefix).events(id), "-", "+");
      expect(events.map((event) => event.id)).toEqual(stored.map(([entryId]) => entryId));
      expect(events.map((event) => event.event)).toEqual([
        "status",
        "progress",
        "progress",
        "progress",
        "progress",
        "cancelled",
      ]);
    }
    await until(() => app.openEventStreams() === 0, "every subscription to end");
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});
