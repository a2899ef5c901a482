import { type Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { HeldLocks } from "../src/jobs/held-locks.js";
import { deleteKeysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

// Real Redis, real BullMQ: a job whose processor blocks the thread longer than its lock
// (as loading a large document does) keeps its lock when the held locks are extended
// first, and loses it (stalled: another worker would run it again) when they are not.
const prefix = uniquePrefix("held-locks");
const connection = { host: "127.0.0.1", port: 6379 };
const LOCK_MS = 1_000;
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = newRedis();
  queue = new Queue("blocking", { connection, prefix });
});

afterAll(async () => {
  await queue.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // The thread is busy: no timer (BullMQ's lock renewal among them) runs.
  }
}

/** Runs one job that blocks 2.2 s; returns how many times BullMQ found it stalled. */
async function runBlockingJob(name: string, extendFirst: boolean): Promise<number> {
  const heldLocks = new HeldLocks(LOCK_MS);
  let stalled = 0;
  let starts = 0;
  const worker = new Worker(
    "blocking",
    async (job: Job, token?: string) => {
      starts += 1;
      // A stalled job runs again here: only its first run blocks.
      if (starts > 1) return;
      const unhold = heldLocks.hold(job, token);
      try {
        // 40 MB of document: 2.4 s allowed on top of the lock, more than the block.
        if (extendFirst) await heldLocks.beforeBlocking(40 * 1024 * 1024);
        blockFor(2_200);
        // Long enough for the stalled-job check to run once the thread is free.
        await new Promise((resolve) => setTimeout(resolve, 3 * 300));
      } finally {
        unhold();
      }
    },
    { connection, prefix, lockDuration: LOCK_MS, stalledInterval: 300, maxStalledCount: 5 },
  );
  worker.on("stalled", () => {
    stalled += 1;
  });
  worker.on("error", () => undefined);
  try {
    const job = await queue.add(name, {}, { jobId: name });
    await new Promise<void>((resolve) => {
      const check = async () => {
        const state = await queue.getJobState(job.id!);
        if (state === "completed" || state === "failed") resolve();
        else setTimeout(() => void check(), 50);
      };
      void check();
    });
    expect(heldLocks.size).toBe(0);
    return stalled;
  } finally {
    await worker.close(true);
  }
}

it("a blocked job keeps its lock when the held locks were extended first", async () => {
  expect(await runBlockingJob("extended", true)).toBe(0);
}, 20_000);

it("and loses it when they were not (the failure the extension prevents)", async () => {
  expect(await runBlockingJob("not-extended", false)).toBeGreaterThan(0);
}, 20_000);
