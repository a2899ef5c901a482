import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { LuaScript } from "../storage/lua-script.js";

/**
 * Takes one delayed job as active, under a lock, for the process that runs the script:
 * what BullMQ's `moveToActive` does for the job at the head of the wait list
 * (`prepareJobForProcessing`: lock, `active` event, `processedOn`, `processedBy`,
 * attempts started), done here for a job named by id. The job is then processed by
 * hand and finished with `Job.moveToCompleted` / `moveToFailed` and the same token.
 *
 * Only a job still in the delayed set that was never started is taken: one that was
 * promoted, is active elsewhere, finished, or waits in the delayed set for a retry is
 * left alone (the script returns 0). Taking it again under the same token returns 1:
 * the claim can be retried after a lost reply.
 *
 *   KEYS[1] the queue's delayed zset
 *   KEYS[2] the queue's active list
 *   KEYS[3] the job's hash
 *   KEYS[4] the job's lock key
 *   KEYS[5] the queue's event stream
 *   ARGV[1] job id
 *   ARGV[2] lock token
 *   ARGV[3] lock duration, ms
 *   ARGV[4] processedOn, ms since the epoch
 *   ARGV[5] worker name (`processedBy`)
 *
 * Returns 1 when the job is taken (now or by an earlier run with this token).
 */
const claimScript = new LuaScript(
  "claim-delayed-job",
  `
local rcall = redis.call
if rcall("GET", KEYS[4]) == ARGV[2] then return 1 end
if not rcall("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
local started = tonumber(rcall("HGET", KEYS[3], "ats")) or 0
local made = tonumber(rcall("HGET", KEYS[3], "atm")) or 0
if started > 0 or made > 0 then return 0 end
rcall("ZREM", KEYS[1], ARGV[1])
rcall("LPUSH", KEYS[2], ARGV[1])
rcall("SET", KEYS[4], ARGV[2], "PX", ARGV[3])
rcall("XADD", KEYS[5], "*", "event", "active", "jobId", ARGV[1], "prev", "delayed")
rcall("HSET", KEYS[3], "processedOn", ARGV[4], "pb", ARGV[5], "delay", 0)
rcall("HINCRBY", KEYS[3], "ats", 1)
return 1
`,
);

/**
 * Moves the delayed job `jobId` of `queue` to active, locked with `token` for
 * `lockDurationMs`. Returns false when the job is not delayed (any other state).
 */
export async function claimDelayedJob(
  redis: Redis,
  queue: Pick<Queue, "keys" | "toKey">,
  claim: { jobId: string; token: string; lockDurationMs: number; workerName: string },
): Promise<boolean> {
  const jobKey = queue.toKey(claim.jobId);
  const { delayed, active, events } = queue.keys;
  if (!delayed || !active || !events)
    throw new Error("the queue has no delayed/active/events keys");
  const taken = await claimScript.run(
    redis,
    [delayed, active, jobKey, `${jobKey}:lock`, events],
    [claim.jobId, claim.token, claim.lockDurationMs, Date.now(), claim.workerName],
  );
  return taken === 1;
}
