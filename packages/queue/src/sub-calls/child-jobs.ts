import { createHash } from "node:crypto";
import type { Job, JobsOptions } from "bullmq";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";

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

/**
 * Of a run's calls pending in child jobs, those whose job has ended (completed, failed
 * for good, or gone) without their answer: asked once BullMQ has seen every child end,
 * with the journal read first, so they will not be answered. With the reason to show.
 */
export async function endedWithoutAnswer(
  children: ReadonlyArray<{ key: string; jobId: string | undefined; nested: boolean }>,
  queues: { llmQueue: LlmQueue; rootQueue: RootQueue },
): Promise<Array<{ key: string; message: string }>> {
  const ended = await Promise.all(
    children.map(async ({ key, jobId, nested }) => {
      if (jobId === undefined) return undefined;
      const job = await (nested ? queues.rootQueue : queues.llmQueue).getJob(jobId);
      const state = job ? await job.getState() : "missing";
      if (state !== "completed" && state !== "failed" && state !== "missing") return undefined;
      return { key, message: job?.failedReason || `the sub-call job ${jobId} is ${state}` };
    }),
  );
  return ended.filter((entry) => entry !== undefined);
}
