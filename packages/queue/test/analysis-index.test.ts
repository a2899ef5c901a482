import type { RlmResult } from "@rlm/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalysisSummary } from "../src/analyses/analysis-index.js";
import { AnalysisReporter } from "../src/analyses/analysis-reporter.js";
import { RlmQueueClient } from "../src/client/rlm-queue-client.js";
import { DAY_SECONDS, redisKeys } from "../src/storage/keys.js";
import { deleteKeysUnder, newRedis, REDIS_OPTIONS, uniquePrefix } from "./redis-helpers.js";

// The list of analyses: a sorted set by creation time, read a page at a time.
const prefix = uniquePrefix("index");
const keys = redisKeys(prefix);
let redis: Redis;
let client: RlmQueueClient;
/** Ids in creation order, with the status each is given. */
const made: { id: string; status: string }[] = [];

function result(answer: string): RlmResult {
  return {
    answer,
    finishReason: "final",
    iterations: 1,
    totalCalls: 1,
    replHistory: [],
    messages: [],
    usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: 0, byModel: {} },
    durationMs: 1,
  };
}

/** Every page of a listing, followed to its end. */
async function allPages(query: Parameters<RlmQueueClient["listAnalyses"]>[0]) {
  const pages: AnalysisSummary[][] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listAnalyses({ ...query, ...(cursor ? { cursor } : {}) });
    pages.push(page.analyses);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 50);
  return pages;
}

beforeAll(async () => {
  redis = newRedis();
  client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix });
  const statuses = ["completed", "queued", "failed", "cancelled", "completed", "running", "queued"];
  for (const [i, status] of statuses.entries()) {
    const { id } = await client.enqueueAnalysis({ query: `question ${i}`, context: `doc ${i}` });
    const reporter = new AnalysisReporter({ redis, analysisId: id, prefix });
    if (status === "completed") await reporter.complete(result(`answer ${i}`));
    if (status === "failed") await reporter.fail(new Error("it broke"));
    if (status === "running") await reporter.running();
    if (status === "cancelled") expect(await client.cancel(id)).toBe("cancelled");
    made.push({ id, status });
  }
});

afterAll(async () => {
  await client.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

/** Newest first: by creation ms, then by id (the set's order within one ms). */
async function newestFirst(ids: string[]): Promise<string[]> {
  const scores = await Promise.all(ids.map((id) => redis.zscore(keys.analysesIndex(), id)));
  return ids
    .map((id, i) => ({ id, score: Number(scores[i]) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1))
    .map((entry) => entry.id);
}

describe("listAnalyses", () => {
  it("lists every analysis newest first, with its state and not its result", async () => {
    const page = await client.listAnalyses();
    const ids = made.map((entry) => entry.id);
    expect(page.analyses.map((a) => a.id)).toEqual(await newestFirst(ids));
    expect(page.nextCursor).toBeUndefined();
    const completed = page.analyses.find((a) => a.id === made[0]!.id)!;
    expect(completed).toMatchObject({
      status: "completed",
      query: "question 0",
      finishReason: "final",
      cancelRequested: false,
      progress: { inputTokens: 1, outputTokens: 1 },
    });
    expect(completed).not.toHaveProperty("result");
    expect(Date.parse(completed.createdAt)).toBeGreaterThan(0);
    const failed = page.analyses.find((a) => a.id === made[2]!.id)!;
    expect(failed.error).toMatchObject({ message: "it broke" });
  });

  it("goes page by page with the cursor, each analysis once, to a last page without one", async () => {
    const pages = await allPages({ limit: 2 });
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 1]);
    const ids = pages.flat().map((a) => a.id);
    expect(ids).toEqual(await newestFirst(made.map((entry) => entry.id)));
  });

  it("filters by status, across pages", async () => {
    const pages = await allPages({ statuses: ["completed", "queued"], limit: 3 });
    const listed = pages.flat();
    expect(listed.map((a) => a.status).sort()).toEqual([
      "completed",
      "completed",
      "queued",
      "queued",
    ]);
    const only = await client.listAnalyses({ statuses: ["cancelled"] });
    expect(only.analyses.map((a) => a.id)).toEqual([made[3]!.id]);
  });

  it("keeps to analyses created since a time", async () => {
    const since = Number(await redis.zscore(keys.analysesIndex(), made[4]!.id));
    const page = await client.listAnalyses({ sinceMs: since });
    expect(page.analyses.length).toBeGreaterThanOrEqual(3);
    for (const analysis of page.analyses) {
      expect(Date.parse(analysis.createdAt)).toBeGreaterThanOrEqual(since);
    }
    const none = await client.listAnalyses({ sinceMs: Date.now() + 60_000 });
    expect(none).toEqual({ analyses: [] });
  });

  it("pages through analyses created in the same millisecond without a gap or a repeat", async () => {
    const tied = prefix + "-tied";
    const tiedClient = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix: tied });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push((await tiedClient.enqueueAnalysis({ query: `q${i}`, context: "d" })).id);
      }
      // All in one millisecond, as a burst of enqueues may be.
      for (const id of ids)
        await redis.zadd(redisKeys(tied).analysesIndex(), 1_700_000_000_000, id);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await tiedClient.listAnalyses({ limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.analyses.map((a) => a.id));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(seen).toEqual([...ids].sort().reverse());
    } finally {
      await tiedClient.close();
      await deleteKeysUnder(redis, tied);
    }
  });

  it("drops analyses whose record has expired, from the page and from the index", async () => {
    const { id } = await client.enqueueAnalysis({ query: "short-lived", context: "d" });
    expect(await redis.zscore(keys.analysesIndex(), id)).not.toBeNull();
    await redis.del(keys.analysis(id));
    const page = await client.listAnalyses();
    expect(page.analyses.map((a) => a.id)).not.toContain(id);
    expect(await redis.zscore(keys.analysesIndex(), id)).toBeNull();
  });

  it("trims members older than the retention when an analysis is added", async () => {
    const old = Date.now() - (7 + 2) * DAY_SECONDS * 1000;
    await redis.zadd(keys.analysesIndex(), old, "an_ancient");
    await client.enqueueAnalysis({ query: "new", context: "d" });
    expect(await redis.zscore(keys.analysesIndex(), "an_ancient")).toBeNull();
  });

  it("refuses a limit out of range and a cursor it did not give", async () => {
    await expect(client.listAnalyses({ limit: 0 })).rejects.toMatchObject({
      code: "invalid_input",
    });
    await expect(client.listAnalyses({ limit: 101 })).rejects.toMatchObject({
      code: "invalid_input",
    });
    await expect(client.listAnalyses({ cursor: "not-a-cursor" })).rejects.toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/cursor/),
    });
  });
});
