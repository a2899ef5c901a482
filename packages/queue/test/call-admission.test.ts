import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallAdmission } from "../src/llm-job/call-admission.js";
import { deleteKeysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

const prefix = uniquePrefix("admission");
let redis: Redis;

beforeAll(() => {
  redis = newRedis();
});

afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

/** Records the sleeps asked for instead of sleeping, then lets time pass for real. */
function recordingSleep(asked: number[]) {
  return async (ms: number) => {
    asked.push(ms);
    await new Promise((resolve) => setTimeout(resolve, ms));
  };
}

describe("CallAdmission", () => {
  it("admits at once when there is no limiter and no pause", async () => {
    const asked: number[] = [];
    const admission = new CallAdmission({ redis, prefix, sleep: recordingSleep(asked) });
    await Promise.all(Array.from({ length: 20 }, () => admission.admit()));
    expect(asked).toEqual([]);
  });

  it("shares one window limit across admissions (two workers, one Redis)", async () => {
    const limiter = { max: 3, durationMs: 400 };
    const asked: number[] = [];
    const first = new CallAdmission({
      redis,
      prefix: `${prefix}-w`,
      limiter,
      sleep: recordingSleep(asked),
    });
    const second = new CallAdmission({
      redis,
      prefix: `${prefix}-w`,
      limiter,
      sleep: recordingSleep(asked),
    });
    const admittedAt: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, index) =>
        (index % 2 === 0 ? first : second).admit().then(() => admittedAt.push(Date.now())),
      ),
    );
    admittedAt.sort((a, b) => a - b);
    // 7 calls at 3 per window need three windows; the first may start late in its window,
    // so the last starts at least one whole window after it.
    expect(asked.length).toBeGreaterThanOrEqual(4);
    expect(admittedAt.at(-1)! - admittedAt[0]!).toBeGreaterThanOrEqual(limiter.durationMs - 50);
    // Fixed windows: at most 3 + 3 starts in any stretch shorter than one window.
    for (const [index, at] of admittedAt.entries()) {
      const inStretch = admittedAt.slice(index).filter((other) => other < at + 350).length;
      expect(inStretch).toBeLessThanOrEqual(6);
    }
  });

  it("a pause set by one worker holds back another's calls once it refreshes", async () => {
    const asked: number[] = [];
    const pausing = new CallAdmission({ redis, prefix: `${prefix}-p`, sleep: recordingSleep([]) });
    const other = new CallAdmission({
      redis,
      prefix: `${prefix}-p`,
      sleep: recordingSleep(asked),
    });
    await pausing.pause(300);
    await other.refresh();
    const started = Date.now();
    await other.admit();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(asked.length).toBeGreaterThan(0);
  });
});
