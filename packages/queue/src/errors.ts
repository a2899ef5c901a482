import { RlmError, type RlmResult } from "@rlm/core";
import type { AnalysisError } from "./analyses/analysis-types.js";

/** Error codes raised by `@rlm/queue`, beside the engine's own. */
export const QueueErrorCode = {
  /** A query, context or idempotency key given to the producer was unusable. */
  invalidInput: "invalid_input",
  /** A stored context expired or was deleted before a job read it. */
  contextMissing: "context_missing",
  /** No analysis with that id (never created, or past retention). */
  notFound: "not_found",
  /** Waiting for a result gave up; the analysis may still finish. */
  timeout: "timeout",
  /** The analysis ended in `failed`; the cause is on the error. */
  analysisFailed: "analysis_failed",
  /** A Redis value was not what this package writes (corrupt or foreign data). */
  corruptRecord: "corrupt_record",
  /**
   * A worker lost the lock of a job it was running (its renewal failed: the process was
   * stalled, or Redis lost the key); another worker may run the job now.
   */
  lockLost: "lock_lost",
} as const;

/** The producer rejected its input. Never retryable. */
export class InvalidInputError extends RlmError {
  constructor(message: string) {
    super(QueueErrorCode.invalidInput, message);
    this.name = "InvalidInputError";
  }
}

/**
 * Why a root run stopped: its job's lock could not be renewed, so the job may be another
 * worker's now (BullMQ hands a job whose lock lapsed to the next worker). The run stops
 * its model calls and sub-calls and records nothing; the job's next run replays the
 * journal. Retryable: nothing is wrong with the analysis.
 */
export class JobLockLostError extends RlmError {
  constructor(jobId: string) {
    super(QueueErrorCode.lockLost, `the lock of job ${jobId} was lost: another worker may run it`, {
      retryable: true,
    });
    this.name = "JobLockLostError";
  }
}

/** `waitForResult` saw the analysis fail; `analysisError` is what the worker recorded. */
export class AnalysisFailedError extends RlmError {
  readonly analysisId: string;
  readonly analysisError: AnalysisError;
  /** What the engine produced before the failure (history, usage paid), when it ran. */
  readonly result: RlmResult | undefined;

  constructor(analysisId: string, analysisError: AnalysisError, result?: RlmResult) {
    super(
      QueueErrorCode.analysisFailed,
      `analysis ${analysisId} failed: ${analysisError.code}: ${analysisError.message}`,
    );
    this.name = "AnalysisFailedError";
    this.analysisId = analysisId;
    this.analysisError = analysisError;
    this.result = result;
  }
}
