import type { JournalRecord, RootCallRecord, SubCallRecord } from "@rlm/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../src/storage/keys.js";
import { listJournalRecords, RedisJournal } from "../src/storage/redis-journal.js";
import { deleteKeysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

const prefix = uniquePrefix("journal");
const connections: Redis[] = [];
let redis: Redis;

const usage = { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, costUsd: null };

function rootRecord(content: string): RootCallRecord {
  return { kind: "root", content, model: "m", usage, durationMs: 1 };
}

beforeAll(() => {
  for (let i = 0; i < 4; i++) connections.push(newRedis());
  redis = connections[0]!;
});

afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  await Promise.all(connections.map((c) => c.quit()));
});

describe("RedisJournal", () => {
  it("returns undefined for a key never written", async () => {
    const journal = new RedisJournal({ redis, prefix, analysisId: "an_empty" });
    expect(await journal.get("root:1")).toBeUndefined();
  });

  it("agrees on one record when 20 writers race on the same key", async () => {
    // Writers on four connections, so the writes really interleave in Redis.
    const writers = Array.from({ length: 20 }, (_, i) => ({
      journal: new RedisJournal({
        redis: connections[i % connections.length]!,
        prefix,
        analysisId: "an_race",
      }),
      record: rootRecord(`answer from writer ${i}`),
    }));
    const stored = await Promise.all(
      writers.map(({ journal, record }) => journal.putIfAbsent("root:1", record)),
    );
    const winner = stored[0]!;
    expect(writers.map((w) => w.record)).toContainEqual(winner);
    for (const record of stored) expect(record).toEqual(winner);
    const reader = new RedisJournal({ redis, prefix, analysisId: "an_race" });
    expect(await reader.get("root:1")).toEqual(winner);
    expect(await redis.hlen(redisKeys(prefix).journal("an_race"))).toBe(1);
  });

  it("isolates scopes within one hash", async () => {
    const journal = new RedisJournal({ redis, prefix, analysisId: "an_scopes" });
    const nested = journal.scope("sub:cell:1:0:abc:0/");
    await journal.putIfAbsent("root:1", rootRecord("outer"));
    expect(await nested.get("root:1")).toBeUndefined();
    await nested.putIfAbsent("root:1", rootRecord("inner"));
    expect(await journal.get("root:1")).toEqual(rootRecord("outer"));
    expect(await nested.get("root:1")).toEqual(rootRecord("inner"));
    const deeper = nested.scope("x/");
    expect(await deeper.get("root:1")).toBeUndefined();
    expect(await redis.hkeys(redisKeys(prefix).journal("an_scopes"))).toHaveLength(2);
  });

  it("lists all records sorted by key, numbers as numbers", async () => {
    const journal = new RedisJournal({ redis, prefix, analysisId: "an_list" });
    const sub: SubCallRecord = {
      kind: "sub",
      argumentsHash: "f".repeat(64),
      query: "q",
      contextChars: 3,
      answer: "a",
      usage,
      byModel: {},
      calls: 1,
      durationMs: 2,
    };
    const writes: Array<[string, JournalRecord]> = [
      ["root:10", rootRecord("ten")],
      ["root:2", rootRecord("two")],
      ["sub:cell:2:0:ffff:0", sub],
    ];
    for (const [key, record] of writes) await journal.putIfAbsent(key, record);
    await journal.scope("sub:cell:2:0:ffff:0/").putIfAbsent("root:1", rootRecord("nested"));
    const entries = await listJournalRecords(redis, "an_list", { prefix });
    expect(entries.map((e) => e.key)).toEqual([
      "root:2",
      "root:10",
      "sub:cell:2:0:ffff:0",
      "sub:cell:2:0:ffff:0/root:1",
    ]);
    expect(entries[2]!.record).toEqual(sub);
    const scoped = await listJournalRecords(redis, "an_list", {
      prefix,
      scopePrefix: "sub:cell:2:0:ffff:0/",
    });
    expect(scoped.map((e) => e.key)).toEqual(["sub:cell:2:0:ffff:0/root:1"]);
  });

  it("keeps a TTL on the hash and lets retention set it", async () => {
    const journal = new RedisJournal({ redis, prefix, analysisId: "an_ttl", ttlSeconds: 3600 });
    await journal.putIfAbsent("root:1", rootRecord("x"));
    const key = redisKeys(prefix).journal("an_ttl");
    expect(await redis.ttl(key)).toBeGreaterThan(3500);
    await journal.expire(60);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(60);
  });
});
