import type { ContextRef } from "@rlm/queue";
import type { FlowProducer, Job, JobNode } from "bullmq";
import type { TrajectoryJob } from "./trajectory-types.js";

/** A sub-call as its job carries it (plain calls in LM jobs, nested ones in their own). */
export interface JobCall {
  /** Full journal key of the call (scope prefix included). */
  key: string;
  query: string;
  /** When the cell issued the call (ms since the epoch). */
  issuedMs: number;
  /** Where its context is stored: a slice of the document, or a value of its own. */
  contextRef?: ContextRef;
  job: TrajectoryJob;
}

/** What the analysis's job tree says about its steps. */
export interface AnalysisJobs {
  /** The job that runs each scope's loop: `""` the root job, a nested scope's prefix its job. */
  scopes: Map<string, TrajectoryJob>;
  /** Calls by full journal key. */
  calls: Map<string, JobCall>;
}

/** Children read per job: a fan-out of 16,000 calls is 1,000 LM jobs. */
const MAX_CHILDREN = 5_000;
/** Levels of the tree: root → nested → … → LM jobs, deeper than any sane `maxDepth`. */
const MAX_LEVELS = 16;

/**
 * Reads the BullMQ job tree of an analysis (its root job, and the LM and nested jobs
 * below it, through BullMQ's `FlowProducer.getFlow`): which worker ran each call, when
 * it was issued and taken, how often its job was retried, and the calls that are
 * issued but not answered yet (the journal has only answers). Undefined when the root
 * job is gone (removed after its retention, or cancelled while queued).
 *
 * Jobs are told apart by their data, not their names, so renamed jobs still read.
 */
export async function readAnalysisJobs(
  flows: Pick<FlowProducer, "getFlow">,
  rootQueueName: string,
  analysisId: string,
): Promise<AnalysisJobs | undefined> {
  const tree = await flows.getFlow({
    id: analysisId,
    queueName: rootQueueName,
    depth: MAX_LEVELS,
    maxChildren: MAX_CHILDREN,
  });
  if (!tree?.job) return undefined;
  const jobs: AnalysisJobs = { scopes: new Map(), calls: new Map() };
  jobs.scopes.set("", toTrajectoryJob(tree.job));
  const visit = (node: JobNode | undefined) => {
    if (!node?.job) return;
    readJob(node.job, jobs);
    for (const child of node.children ?? []) visit(child);
  };
  for (const child of tree.children ?? []) visit(child);
  return jobs;
}

function readJob(job: Job, jobs: AnalysisJobs): void {
  const data: unknown = job.data;
  if (!isRecord(data)) return;
  const facts = toTrajectoryJob(job);
  if (Array.isArray(data.calls)) {
    // An LM job: a batch of plain calls.
    for (const call of data.calls) {
      if (!isRecord(call) || typeof call.journalKey !== "string") continue;
      jobs.calls.set(call.journalKey, {
        key: call.journalKey,
        query: typeof call.query === "string" ? call.query : "",
        issuedMs: typeof call.issuedAt === "number" ? call.issuedAt : job.timestamp,
        ...contextRefOf(call.contextRef),
        job: facts,
      });
    }
    return;
  }
  if (typeof data.journalKey === "string" && typeof data.journalScope === "string") {
    // A nested analysis: the call it answers, and the scope it runs.
    jobs.scopes.set(data.journalScope, facts);
    jobs.calls.set(data.journalKey, {
      key: data.journalKey,
      query: typeof data.query === "string" ? data.query : "",
      issuedMs: job.timestamp,
      ...contextRefOf(data.contextRef),
      job: facts,
    });
  }
}

function toTrajectoryJob(job: Job): TrajectoryJob {
  return {
    queue: job.queueName,
    id: job.id ?? "",
    ...(job.processedBy ? { worker: job.processedBy } : {}),
    // BullMQ counts a run in `attemptsMade` when it ends, the successful last one too.
    retries: Math.max(0, job.attemptsMade - (job.finishedOn ? 1 : 0)),
    addedMs: job.timestamp,
    ...(job.processedOn ? { processedMs: job.processedOn } : {}),
    ...(job.finishedOn ? { finishedMs: job.finishedOn } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
  };
}

function contextRefOf(value: unknown): { contextRef?: ContextRef } {
  if (!isRecord(value) || typeof value.sha256 !== "string" || typeof value.chars !== "number") {
    return {};
  }
  return { contextRef: value as unknown as ContextRef };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
