import type { EngineOptionsInput, JsonObject, SubCallRecord } from "@rlm/core";
import type { TraceCarrier } from "../observing/job-trace.js";
import type { ContextRef } from "../storage/context-ref.js";

/**
 * Engine options that can travel in job data: everything but the in-process hooks
 * (`signal`, `onEvent`), which a worker supplies itself.
 */
export type SerializableEngineOptions = Omit<EngineOptionsInput, "signal" | "onEvent">;

/** Data of a root analysis job. Carries a context reference, never the document. */
export interface RootJobData {
  analysisId: string;
  query: string;
  contextRef: ContextRef;
  options: SerializableEngineOptions;
  depth: 0;
  /**
   * When the analysis was enqueued (its record's `createdAt`, ms since the epoch): where
   * its deadline budget, its REPL clock and its `durationMs` start, in every run of it.
   * Absent from jobs enqueued before it existed: the record is read then.
   */
  createdAt?: number;
  /** Takeovers (see `stalled-grace.ts`) a run of the job has waited for already. */
  takeoversSeen?: number;
  /** The span the analysis was enqueued under (its runs' spans are its children). */
  trace?: TraceCarrier;
  /** For a question of a session: which, and where in it (see `sessions/`). */
  session?: SessionPlace;
}

/** A question's place in its session, as its root job carries it. */
export interface SessionPlace {
  sessionId: string;
  /** 0 for the session's first question. */
  position: number;
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
  /** Takeovers (see `stalled-grace.ts`) a run of the job has waited for already. */
  takeoversSeen?: number;
  /** The sub-call's span in its parent's run (the nested runs' spans are its children). */
  trace?: TraceCarrier;
}

/** Data of the jobs on `rlm-root`: top analyses and nested sub-analyses. */
export type RootQueueJobData = RootJobData | NestedJobData;

/** True for a nested sub-analysis's job data (a `recursiveLm` at depth + 1 < maxDepth). */
export function isNestedJobData(data: RootQueueJobData): data is NestedJobData {
  return "journalScope" in data;
}

/** One `recursiveLm` call at the last depth, carried by an LM job. */
export interface LlmCall {
  /** The sub-call's journal key: the memo that says this call already happened. */
  journalKey: string;
  query: string;
  contextRef: ContextRef;
  /** When the call left the engine (ms since the epoch, sub-ms), before it was queued. */
  issuedAt: number;
  /** The JSON Schema the answer must match, for a typed sub-call. */
  schema?: JsonObject;
  /** The sub-call's span in the root's run (the call's span is its child). */
  trace?: TraceCarrier;
}

/**
 * Data of an LM job: plain model calls (`recursiveLm` at the last depth) that the root's
 * process had no call slot for. One call per job by default (`SubCallBatching`): a worker
 * takes a job only when it has a call slot free, so a job of several calls could leave
 * some waiting in one worker while another has slots free. Each call is journaled on its
 * own, so a retried job only makes the calls it lacks.
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
  /** Calls skipped because the analysis was cancelled or had ended. */
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

/** What the jobs on `rlm-root` return. */
export type RootQueueJobResult = RootJobResult | SubCallJobResult;
