import { describe, expect, it } from "vitest";
import { queuePrefix, redisKeys } from "../src/storage/keys.js";

/** The hash tag Redis Cluster hashes a key by: the first non-empty `{…}`, else the key. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

// The layout a Redis Cluster needs, checked without one (test/cluster.test.ts runs it on
// a real cluster): what a script or a MULTI touches together shares a hash tag.
describe("key layout", () => {
  const keys = redisKeys("team-a");
  const id = "an_aaaaaaaaaaaaaaaaaaaa";

  it("puts an analysis's record, events, journal and answers channel in the slot of its id", () => {
    const own = [keys.analysis(id), keys.events(id), keys.journal(id), keys.answers(id)];
    expect(own.map(hashTag)).toEqual([id, id, id, id]);
    expect(own.every((key) => key.startsWith("team-a:"))).toBe(true);
  });

  it("puts a session in the slot of its id, and its idempotency key in its own", () => {
    const session = "se_aaaaaaaaaaaaaaaaaaaa";
    expect(hashTag(keys.session(session))).toBe(session);
    expect(hashTag(keys.sessionIdempotency("chat-9"))).toBe("chat-9");
  });

  it("spreads documents by their hash and idempotency keys by themselves", () => {
    const sha = "0123456789abcdef".repeat(4);
    expect(hashTag(keys.context(sha))).toBe(sha);
    expect(hashTag(keys.idempotency("order-17"))).toBe("order-17");
  });

  it("keeps every BullMQ key of both queues in one slot, named by the prefix", () => {
    const prefix = queuePrefix("team-a");
    expect(prefix.startsWith("team-a:")).toBe(true);
    for (const key of [`${prefix}:rlm-root:wait`, `${prefix}:rlm-llm:an_x-c1`]) {
      expect(hashTag(key)).toBe("team-a");
    }
    expect(hashTag(`${queuePrefix("team-b")}:rlm-root:wait`)).toBe("team-b");
  });

  it("gives the limiter's window counters the tag of their stem", () => {
    // admit-call.lua appends `:<window>` to the stem it is given.
    expect(hashTag(`${keys.llmWindow()}:123`)).toBe(hashTag(keys.llmWindow()));
    expect(keys.answersPattern()).toBe("team-a:answers:{*}");
  });

  it("refuses a prefix whose braces would put its own tag first", () => {
    for (const bad of ["{rlm}", "a}b", ""]) {
      expect(() => redisKeys(bad), bad).toThrow(/invalid key prefix/);
      expect(() => queuePrefix(bad), bad).toThrow(/invalid key prefix/);
    }
  });
});
