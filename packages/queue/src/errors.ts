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
} as const;

/** The producer rejected its input. Never retryable. */
export class InvalidInputError extends RlmError {
  constructor(message: string) {
    super(QueueErrorCode.invalidInput, message);
    this.name = "InvalidInputError";
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
