import { AnalysisReporter, type AnalysisView, type RootQueue } from "@rlm/queue";
import type { RedisClient } from "@rlm/queue";

/** What `recordUnrecordedEnd` reads and writes with. */
export interface UnrecordedEndSources {
  redis: RedisClient;
  prefix: string;
  rootQueue: Pick<RootQueue, "getJob">;
}

/**
 * A delivery job moves on once its analysis's root job has ended, which is normally
 * after the end is in the record. Two ends are recorded just after the job's: a job that
 * failed for good (its worker's `failed` handler writes it) and a cancel while queued
 * (the producer removes the job, then writes it). If the process writing them died in
 * between, the record would never end and the delivery never go: this writes the end
 * the root job shows instead, as those writers would have. Terminal states are final,
 * so if the usual writer comes after all, one of the two writes is refused.
 *
 * Returns true when it wrote an end; false when the root job has not ended (the delivery
 * tries again later).
 */
export async function recordUnrecordedEnd(
  sources: UnrecordedEndSources,
  view: AnalysisView,
): Promise<boolean> {
  const reporter = new AnalysisReporter({
    redis: sources.redis,
    analysisId: view.id,
    prefix: sources.prefix,
  });
  const job = await sources.rootQueue.getJob(view.id);
  if (!job) {
    // Removed: by a cancel while queued, or by hand (Bull Board).
    const reason = view.cancelRequested ? "cancelled while queued" : "its job was removed";
    await reporter.cancelled(undefined, reason);
    return true;
  }
  if ((await job.getState()) === "failed") {
    await reporter.fail(new Error(job.failedReason || "the analysis's job failed"));
    return true;
  }
  return false;
}
