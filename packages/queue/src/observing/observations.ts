import type { FinishReason, RlmEvent } from "@rlm/core";

/**
 * A top analysis ended, told by the process whose change of its record ended it (so once
 * per analysis, across every worker and producer).
 */
export interface AnalysisEnded {
  type: "analysis_ended";
  analysisId: string;
  status: "completed" | "failed" | "cancelled";
  /** Absent when it ended without a result (cancelled while queued, failed before a run). */
  finishReason?: FinishReason;
  /** The whole analysis, from when it was enqueued (absent without a result). */
  durationMs?: number;
  /** US dollars of its model calls; null when a model has no known price. */
  costUsd?: number | null;
}

/** How one try of a plain sub-call ended (see `runCall`). */
export type CallTryOutcome = "answered" | "failed" | "retry" | "rate_limited" | "cancelled";

/**
 * What a worker process tells its observer, as it happens: for metrics (the app maps
 * these to prom-client, or anything else). Model calls themselves are the app's to count,
 * around the model clients it gives the worker.
 */
export type WorkerObservation =
  /** An engine event of a run in this process, top or nested (`event.depth`). */
  | { type: "engine"; analysisId: string; event: RlmEvent }
  | AnalysisEnded
  /**
   * One try of a plain sub-call made in this process: for one of its own runs (`local`)
   * or for an LM job it took (`job`). `failed` is journaled as the call's error (its
   * `errorCode`); `retry` and `rate_limited` are tried again.
   */
  | {
      type: "call_try";
      analysisId: string;
      model: string;
      lane: "local" | "job";
      outcome: CallTryOutcome;
      errorCode?: string;
    }
  /**
   * The lock of a root job this process ran could not be renewed (the process was
   * stalled past it, or Redis lost the key): the run stopped, recording nothing, and the
   * job runs again from its journal, here or in another worker.
   */
  | { type: "lock_lost"; jobId: string };

/** What a producer (`RlmQueueClient`) tells its observer. */
export type ProducerObservation =
  | { type: "analysis_enqueued"; analysisId: string; deduplicated: boolean }
  /** Only `cancelled`: an analysis cancelled while queued never reaches a worker. */
  | AnalysisEnded;

/** Receives observations; must be quick. One that throws is ignored. */
export type Observer<T> = (observation: T) => void;

/** Tells `observer` (if any), ignoring its failures: observing never breaks the work. */
export function notify<T>(observer: Observer<T> | undefined, observation: T): void {
  if (!observer) return;
  try {
    observer(observation);
  } catch {
    // A metrics bug must not fail an analysis.
  }
}
