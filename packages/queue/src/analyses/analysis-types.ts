import type { RlmResult } from "@rlm/core";
import type { ContextRef } from "../storage/context-ref.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";

/** Where an analysis is in its life. The last three are terminal. */
export type AnalysisStatus =
  "queued" | "running" | "waiting" | "completed" | "failed" | "cancelled";

/** Statuses after which nothing changes any more. */
export const TERMINAL_STATUSES: readonly AnalysisStatus[] = ["completed", "failed", "cancelled"];

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminalStatus(status: AnalysisStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Progress counters of an analysis, as the record and `progress` events carry them. */
export interface AnalysisProgress {
  /** Root iteration under way (0 before the first). */
  iteration: number;
  maxIterations: number;
  subCallsDone: number;
  /** Sub-calls started so far (the total is not known in advance). */
  subCallsTotal: number;
  inputTokens: number;
  outputTokens: number;
  /** US dollars so far, or null when a model's price is unknown. */
  costUsd: number | null;
}

/** Why an analysis failed, as recorded and returned by the API. */
export interface AnalysisError {
  code: string;
  message: string;
  retryable: boolean;
}

/** The analysis record as stored in `<prefix>:analysis:{<id>}`. */
export interface AnalysisRecord {
  id: string;
  status: AnalysisStatus;
  query: string;
  contextRef: ContextRef;
  options: SerializableEngineOptions;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  progress: AnalysisProgress;
  result?: RlmResult;
  error?: AnalysisError;
  cancelRequested: boolean;
  /** Where its end is POSTed, when the producer asked for a webhook. */
  webhook?: { url: string };
}

/** What a producer sees of an analysis (`getAnalysis`, `GET /v1/analyses/:id`). */
export interface AnalysisView {
  id: string;
  status: AnalysisStatus;
  query: string;
  progress: AnalysisProgress;
  result?: RlmResult;
  error?: AnalysisError;
  cancelRequested: boolean;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
}

/** Turns a stored record into its public view. */
export function toAnalysisView(record: AnalysisRecord): AnalysisView {
  return {
    id: record.id,
    status: record.status,
    query: record.query,
    progress: record.progress,
    ...(record.result ? { result: record.result } : {}),
    ...(record.error ? { error: record.error } : {}),
    cancelRequested: record.cancelRequested,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}
