import { setTimeout as sleep } from "node:timers/promises";
import type { Job } from "bullmq";

/**
 * How long a job taken over from a worker whose lock lapsed waits before it reads the
 * journal and makes the calls it lacks.
 *
 * Why: a lock lapses when its worker is gone (a crash), but also when Redis was away
 * longer than the lock (an outage, a failover). In the second case that worker is alive
 * and holds answers it could not journal yet; it reconnects within `promptReconnect`'s
 * 200 ms of Redis's return and writes them first. Without the wait, the worker that took
 * the job over read the journal before them and paid for those calls again. The cost is
 * this much more time to recover from a crash, which is already a lock duration (3 s by
 * default) plus the stalled-job check.
 */
export const STALLED_GRACE_MS = 1_000;

/** True when BullMQ moved the job back from a worker whose lock lapsed (at least once). */
export function wasTakenOver(job: Job): boolean {
  return job.stalledCounter > 0;
}

/** Waits {@link STALLED_GRACE_MS} (see there); `graceMs` for tests. */
export function graceForEarlierHolder(graceMs = STALLED_GRACE_MS): Promise<void> {
  return sleep(graceMs);
}
