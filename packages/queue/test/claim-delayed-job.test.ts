import { type Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDelayedJob } from "../src/sub-calls/claim-delayed-job.js";
import { deleteKeysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

// Real Redis, real BullMQ: the claim must leave a job that BullMQ's own scripts
// (complete, extend the lock, the stalled-job check) treat as any active job.
const prefix = uniquePrefix("claim");
const connection = { host: "127.0.0.1", port: 6379 };
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = newRedis();
  queue = new Queue("claims", { connection, prefix });
});

afterAll(async () => {
  await queue.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

const claim = (jobId: string, token: string, lockDurationMs = 30_000) =>
  claimDelayedJob(redis, queue, { jobId, token, lockDurationMs, workerName: "test-worker" });

describe("claimDelayedJob", () => {
  it("takes a delayed job as active under the given lock, once", async () => {
    const job = await queue.add("x", { n: 1 }, { jobId: "one", delay: 60_000 });
    expect(await job.getState()).toBe("delayed");

    expect(await claim("one", "token-a")).toBe(true);
    expect(await queue.getJobState("one")).toBe("active");
    expect(await redis.get(`${queue.toKey("one")}:lock`)).toBe("token-a");
    const taken = await queue.getJob("one");
    expect(taken?.processedBy).toBe("test-worker");
    expect(taken?.attemptsStarted).toBe(1);
    expect(taken?.delay).toBe(0);

    // Not delayed any more: a second claim takes nothing; the same claim again (after a
    // lost reply, say) finds it taken already.
    expect(await claim("one", "token-b")).toBe(false);
    expect(await claim("one", "token-a")).toBe(true);
    expect((await queue.getJob("one"))?.attemptsStarted).toBe(1);
    expect(await redis.get(`${queue.toKey("one")}:lock`)).toBe("token-a");

    // BullMQ completes it with the token, as it would a job its worker fetched.
    await job.extendLock("token-a", 30_000);
    await job.moveToCompleted({ done: true }, "token-a", false);
    expect(await queue.getJobState("one")).toBe("completed");
  });

  it("leaves a delayed job that ran before (a retry in its backoff) alone", async () => {
    const job = await queue.add("x", { n: 4 }, { jobId: "retrying", delay: 60_000 });
    expect(await claim("retrying", "token-e")).toBe(true);
    // Failed with attempts left: BullMQ puts it back in the delayed set for its backoff.
    job.opts.attempts = 3;
    job.opts.backoff = { type: "fixed", delay: 60_000 };
    await job.moveToFailed(new Error("transient"), "token-e");
    expect(await queue.getJobState("retrying")).toBe("delayed");
    expect(await claim("retrying", "token-f")).toBe(false);
    expect(await queue.getJobState("retrying")).toBe("delayed");
  });

  it("leaves a job that is waiting, or missing, alone", async () => {
    await queue.add("x", { n: 2 }, { jobId: "waiting" });
    expect(await claim("waiting", "token-c")).toBe(false);
    expect(await queue.getJobState("waiting")).toBe("waiting");
    expect(await claim("no-such-job", "token-d")).toBe(false);
    await queue.remove("waiting");
  });

  it("a claimed job whose process stops renewing its lock is taken by another worker", async () => {
    await queue.add("x", { n: 3 }, { jobId: "abandoned", delay: 60_000 });
    // Claimed, then never renewed: the process holding it died.
    expect(await claim("abandoned", "token-dead", 300)).toBe(true);
    let worker: Worker | undefined;
    try {
      const job = await new Promise<Job>((resolve) => {
        worker = new Worker(
          "claims",
          async (taken) => {
            resolve(taken);
            return "recovered";
          },
          { connection, prefix, stalledInterval: 200, lockDuration: 1_000 },
        );
        worker.on("error", () => undefined);
      });
      expect(job.id).toBe("abandoned");
      expect(job.attemptsStarted).toBe(2);
    } finally {
      await worker?.close();
    }
  });
});
