import { createHash } from "node:crypto";
import type { Job, JobsOptions } from "bullmq";

/**
 * Deterministic id of the job carrying the calls `journalKeys` (one call, or a batch):
 * the same calls map to the same job after a resume, so a rebuilt run that issues them
 * again finds the job its earlier run added instead of adding a second one.
 */
export function childJobId(analysisId: string, journalKeys: readonly string[]): string {
  const digest = createHash("sha256").update(journalKeys.join("\n")).digest("hex").slice(0, 32);
  return `${analysisId}-c${digest}`;
}

/**
 * A child job's options: its deterministic id, and its parent, which must never be left
 * in waiting-children by a child that failed for good (BullMQ resumes it, and the call is
 * answered with the failure).
 */
export function childOptions(parent: Job, jobId: string): JobsOptions {
  if (!parent.id) throw new Error("the parent job has no id");
  return {
    jobId,
    parent: { id: parent.id, queue: parent.queueQualifiedName },
    ignoreDependencyOnFailure: true,
  };
}
