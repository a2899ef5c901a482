/**
 * Every error this project raises carries a stable `code` and a `retryable` flag so
 * callers (the engine, the queue, the HTTP API) can decide what to do without parsing
 * messages.
 */
export class RlmError extends Error {
  /** Stable machine-readable code, e.g. `rate_limited`, `bad_request`, `budget_exceeded`. */
  readonly code: string;
  /** True when repeating the same operation later may succeed. */
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RlmError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Options given to the engine were invalid. Never retryable. */
export class InvalidOptionsError extends RlmError {
  constructor(message: string) {
    super("invalid_options", message);
    this.name = "InvalidOptionsError";
  }
}

/** A budget (`maxSubCalls`, `maxTokens`, `maxCostUsd`, `deadlineMs`) ran out. */
export class BudgetExceededError extends RlmError {
  /** Which budget ran out. */
  readonly budget: "maxSubCalls" | "maxTokens" | "maxCostUsd" | "deadlineMs";
  constructor(budget: BudgetExceededError["budget"], message: string) {
    super("budget_exceeded", message);
    this.name = "BudgetExceededError";
    this.budget = budget;
  }
}

/** The analysis was cancelled through its AbortSignal. */
export class CancelledError extends RlmError {
  constructor(message = "the analysis was cancelled") {
    super("cancelled", message);
    this.name = "CancelledError";
  }
}

/**
 * Replaying a cell asked for a sub-call whose arguments differ from the journaled one at
 * the same position: the code is not deterministic. Reported, never silently ignored.
 */
export class ReplayMismatchError extends RlmError {
  constructor(message: string) {
    super("replay_mismatch", message);
    this.name = "ReplayMismatchError";
  }
}

/** Turns anything thrown into an RlmError, keeping code and retryable when present. */
export function toRlmError(error: unknown, fallbackCode = "internal_error"): RlmError {
  if (error instanceof RlmError) return error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const retryable = (error as { retryable?: unknown }).retryable;
    return new RlmError(typeof code === "string" ? code : fallbackCode, error.message, {
      retryable: retryable === true,
      cause: error,
    });
  }
  return new RlmError(fallbackCode, String(error));
}

/**
 * The document of a deferred context could not be loaded (see `DeferredContext`). It is
 * the worker's failure, not the analysis's: `AnalysisMachine.step` rethrows it instead of
 * ending the analysis, so the caller retries the run (its journal makes that cheap) or
 * gives up. `code` and `retryable` are the loader's when it raised an `RlmError`
 * (`context_missing`, say); `cause` is its error.
 */
export class DocumentLoadError extends RlmError {
  constructor(cause: unknown) {
    const known = cause instanceof RlmError ? cause : undefined;
    super(
      known?.code ?? "document_load_failed",
      `the document could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`,
      { retryable: known?.retryable ?? true, cause },
    );
    this.name = "DocumentLoadError";
  }
}
