import type { EngineOptionsInput, SubCallRecord } from "@rlm/core";
import type { ContextRef } from "../storage/context-store.js";
import type { QueueName } from "./queue-names.js";

/**
 * Engine options that can travel in job data: everything but the in-process hooks
 * (`signal`, `onEvent`), which a worker supplies itself.
 */
export type SerializableEngineOptions = Omit<EngineOptionsInput, "signal" | "onEvent">;

/** Job names, per queue. */
export const JobName = {
  /** A root analysis on `rlm-root` (job id = analysis id). */
  root: "root",
  /** A nested RLM sub-analysis on `rlm-root` (a `recursiveLm` at depth + 1 < maxDepth). */
  nested: "nested",
  /** A batch of plain model calls on `rlm-llm` (`recursiveLm` at the last depth). */
  llm: "llm",
} as const;

/** Data of a root analysis job. Carries a context reference, never the document. */
export interface RootJobData {
  analysisId: string;
  query: string;
  contextRef: ContextRef;
  options: SerializableEngineOptions;
  depth: 0;
}

/**
 * Data of a nested sub-analysis job: a full RLM over a slice of the context, journaled
 * in the root analysis's journal under `journalScope`.
 */
export interface NestedJobData {
  /** The root analysis this call belongs to (record, journal, budgets, cancellation). */
  analysisId: string;
  /** Journal scope of the nested run (`journalKeys.nested(subCallKey)`). */
  journalScope: string;
  /** The sub-call's journal key, where its `SubCallRecord` is written. */
  journalKey: string;
  query: string;
  contextRef: ContextRef;
  options: SerializableEngineOptions;
  /** At least 1. */
  depth: number;
}

/** One `recursiveLm` call at the last depth, carried by an LM job. */
export interface LlmCall {
  /** The sub-call's journal key: the memo that says this call already happened. */
  journalKey: string;
  query: string;
  contextRef: ContextRef;
  /** When the call left the engine (ms since the epoch, sub-ms), before it joined a batch. */
  issuedAt: number;
}

/**
 * Data of an LM job: the plain model calls (`recursiveLm` at the last depth) that one
 * cell issued together, up to the batch size. One job per batch rather than per call:
 * a BullMQ job costs about a millisecond of Redis and worker time to enqueue and take,
 * paid in series across a burst, while the calls of one batch start at once. Each call
 * is still journaled on its own, so a retried batch only makes the calls it lacks.
 */
export interface LlmJobData {
  analysisId: string;
  model: string;
  maxOutputTokens?: number;
  depth: number;
  calls: LlmCall[];
}

/** What an LM job returns (for dashboards; the answers themselves are in the journal). */
export interface LlmJobResult {
  /** Calls answered by the model (or failed for good) in this job run. */
  answered: number;
  /** Of those, the calls whose final outcome was an error. */
  failed: number;
  /** Calls already in the journal (an earlier attempt, or a duplicate job). */
  memoized: number;
  /** Calls skipped because the analysis was cancelled. */
  cancelled: number;
}

/** What a nested sub-call job returns to its parent: the body of a `SubCallRecord`. */
export type SubCallJobResult = Omit<
  SubCallRecord,
  "kind" | "argumentsHash" | "query" | "contextChars"
>;

/** The job result for a sub-call record: the record without what the parent already knows. */
export function subCallJobResult(record: SubCallRecord): SubCallJobResult {
  const {
    kind: _kind,
    argumentsHash: _hash,
    query: _query,
    contextChars: _chars,
    ...body
  } = record;
  return body;
}

/** What a root job returns; the full `RlmResult` lives in the analysis record. */
export interface RootJobResult {
  analysisId: string;
  finishReason: string;
}

/** Typed catalog: for each queue, each job name with its data and result. */
export interface JobCatalog {
  [QueueName.root]: {
    [JobName.root]: { data: RootJobData; result: RootJobResult };
    [JobName.nested]: { data: NestedJobData; result: SubCallJobResult };
  };
  [QueueName.llm]: {
    [JobName.llm]: { data: LlmJobData; result: LlmJobResult };
  };
}

/** Job names of a queue. */
export type JobNameOf<Q extends QueueName> = keyof JobCatalog[Q] & string;
/** Union of the job data a queue holds. */
export type JobDataOf<Q extends QueueName> = {
  [N in JobNameOf<Q>]: JobCatalog[Q][N] extends { data: infer D } ? D : never;
}[JobNameOf<Q>];
/** Union of the results a queue's jobs return. */
export type JobResultOf<Q extends QueueName> = {
  [N in JobNameOf<Q>]: JobCatalog[Q][N] extends { result: infer R } ? R : never;
}[JobNameOf<Q>];

/** Data of jobs on `rlm-root`. */
export type RootQueueJobData = JobDataOf<typeof QueueName.root>;
/** Data of jobs on `rlm-llm`. */
export type LlmQueueJobData = JobDataOf<typeof QueueName.llm>;
