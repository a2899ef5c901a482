import type { Job } from "bullmq";

/**
 * True on the job's first start: BullMQ counts starts in `attemptsStarted` (a resume from
 * waiting-children, a retry and a stalled job's restart each add one) and failed runs in
 * `attemptsMade`. Only an operator's `job.retry(state, { resetAttemptsStarted: true,
 * resetAttemptsMade: true })` of an unfinished analysis could make an earlier run's job
 * look new; Bull Board's retry does not reset them.
 */
export function firstStart(job: Job): boolean {
  return job.attemptsStarted === 1 && job.attemptsMade === 0;
}
