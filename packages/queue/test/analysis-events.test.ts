import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AnalysisEvent,
  type AnalysisEventEntry,
  AnalysisEvents,
  subscriberConnectionName,
} from "../src/analyses/analysis-events.js";
import { redisKeys } from "../src/storage/keys.js";
import { deleteKeysUnder, newRedis, uniquePrefix, within } from "./redis-helpers.js";

const prefix = uniquePrefix("events");
let redis: Redis;
let events: AnalysisEvents;

const usage = {
  inputTokens: 1,
  outputTokens: 1,
  cachedInputTokens: 0,
  costUsd: 0,
  byModel: {},
};

const progress = {
  iteration: 1,
  maxIterations: 10,
  subCallsDone: 0,
  subCallsTotal: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
};

async function collect(iterator: AsyncIterable<AnalysisEventEntry>): Promise<AnalysisEvent[]> {
  const seen: AnalysisEvent[] = [];
  for await (const entry of iterator) seen.push(entry.event);
  return seen;
}

beforeAll(() => {
  redis = newRedis();
  events = new AnalysisEvents({ redis, prefix });
});

afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

describe("AnalysisEvents", () => {
  it("replays from the start in order and ends at the terminal event", async () => {
    const published: AnalysisEvent[] = [
      { type: "status", status: "running" },
      { type: "progress", progress },
      { type: "cancelled", reason: "test" },
    ];
    for (const event of published) await events.publish("an_replay", event);
    const seen = await within(
      collect(events.subscribe("an_replay", { fromStart: true })),
      5_000,
      "the replayed events",
    );
    expect(seen).toEqual(published);
    const key = redisKeys(prefix).events("an_replay");
    expect(await redis.ttl(key)).toBeGreaterThan(0);
  });

  it("delivers events published after subscribing, then ends", async () => {
    const iterator = events.subscribe("an_live");
    const first = iterator.next();
    // Same client as the subscriber's anchor read, so Redis sees that read first.
    await events.publish("an_live", { type: "status", status: "running" });
    await events.publish("an_live", {
      type: "failed",
      error: { code: "x", message: "boom", retryable: false },
    });
    expect((await within(first, 5_000, "the first live event")).value?.event).toEqual({
      type: "status",
      status: "running",
    });
    const second = await within(iterator.next(), 5_000, "the terminal event");
    expect(second.value?.event.type).toBe("failed");
    expect((await within(iterator.next(), 5_000, "the end")).done).toBe(true);
  });

  it("gives a late subscriber the terminal event of a finished analysis", async () => {
    await events.publish("an_late", { type: "status", status: "running" });
    await events.publish("an_late", {
      type: "completed",
      answer: "42",
      finishReason: "final",
      iterations: 1,
      totalCalls: 1,
      usage,
      durationMs: 5,
    });
    const seen = await within(collect(events.subscribe("an_late")), 5_000, "the terminal event");
    expect(seen.map((e) => e.type)).toEqual(["completed"]);
  });

  it("resumes after a given entry id", async () => {
    const firstId = await events.publish("an_resume", { type: "status", status: "running" });
    await events.publish("an_resume", { type: "cancelled" });
    const seen = await within(
      collect(events.subscribe("an_resume", { after: firstId })),
      5_000,
      "the events after the first",
    );
    expect(seen).toEqual([{ type: "cancelled" }]);
  });

  it("ends promptly on abort while blocked, and on early return", async () => {
    // Earlier tests' subscribers close asynchronously: start from none.
    await waitForClients(0, "earlier subscriber connections to close");
    const controller = new AbortController();
    // blockMs far beyond the wait below: only the abort can end this quickly.
    const iterator = events.subscribe("an_quiet", { signal: controller.signal, blockMs: 60_000 });
    const pending = iterator.next();
    await waitForClients(1, "the dedicated connection");
    controller.abort();
    expect((await within(pending, 2_000, "the aborted iterator")).done).toBe(true);
    await waitForClients(0, "the connection to close after abort");

    await events.publish("an_break", { type: "status", status: "running" });
    await events.publish("an_break", { type: "status", status: "waiting" });
    for await (const entry of events.subscribe("an_break", { fromStart: true })) {
      expect(entry.event.type).toBe("status");
      break;
    }
    await waitForClients(0, "the connection to close after break");
  });
});

/** Open subscriber connections of this file's prefix (named, so other tests don't count). */
async function clientCount(): Promise<number> {
  const list = (await redis.client("LIST")) as string;
  const name = `name=${subscriberConnectionName(prefix)} `;
  return list.split("\n").filter((line) => line.includes(name)).length;
}

/** Polls CLIENT LIST until it shows `count` subscribers (a condition with a deadline, not a sleep). */
async function waitForClients(count: number, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await clientCount()) !== count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
