import { journalKeys, type SubCallTask } from "@rlm/core";
import type { Job } from "bullmq";
import { jobNames } from "../jobs/job-names.js";
import type { NestedJobData, SerializableEngineOptions } from "../jobs/job-types.js";
import type { RootQueue } from "../jobs/queues.js";
import type { TraceCarrier } from "../observing/job-trace.js";
import type { ContextRef } from "../storage/context-ref.js";
import { childJobId, childOptions } from "./child-jobs.js";

/** What the nested analysis of a call needs from its parent run. */
export interface NestedParent {
  analysisId: string;
  /** The parent's journal scope ("" for the top analysis). */
  journalScope: string;
  options: SerializableEngineOptions;
  job: Job;
  rootQueue: RootQueue;
  /** True for a rebuilt parent: the child job may exist already (see the executor). */
  rebuilt: boolean;
}

/** How adding a nested analysis's job went. */
export type NestedAdd = { jobId: string } | { ended: string };

/**
 * Adds the job of a nested analysis (a `recursiveLm` at depth + 1 < maxDepth) on
 * `rlm-root`, a child of the parent's job, journaled in the parent's journal under the
 * call's scope. A rebuilt parent's job that an earlier run added and that has ended
 * without an answer in the journal is not added again: `ended` says why.
 */
export async function addNestedJob(
  parent: NestedParent,
  task: SubCallTask,
  contextRef: ContextRef,
  trace?: TraceCarrier,
): Promise<NestedAdd> {
  const journalKey = parent.journalScope + task.key;
  const jobId = childJobId(parent.analysisId, [journalKey]);
  if (parent.rebuilt) {
    const state = await parent.rootQueue.getJobState(jobId);
    if (state === "completed" || state === "failed") {
      const job = await parent.rootQueue.getJob(jobId);
      return { ended: job?.failedReason || `the sub-call job ${jobId} is ${state}` };
    }
  }
  const data: NestedJobData = {
    analysisId: parent.analysisId,
    journalScope: parent.journalScope + journalKeys.nested(task.key),
    journalKey,
    query: task.query,
    contextRef,
    // Budgets passed down: the nested analysis gets what is left of its parent's.
    options: { ...parent.options, budgets: task.remainingBudgets },
    depth: task.depth + 1,
    ...(trace ? { trace } : {}),
  };
  await parent.rootQueue.add(
    jobNames.nested(parent.analysisId, task.query),
    data,
    childOptions(parent.job, jobId),
  );
  return { jobId };
}
