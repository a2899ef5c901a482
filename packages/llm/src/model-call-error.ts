import { RlmError } from "@rlm/core";

/**
 * Stable codes of a failed model call.
 *
 * - `rate_limited`: HTTP 429 (retryable; `retryAfterMs` when the provider said how long).
 * - `quota_exceeded`: HTTP 429 with OpenAI's `insufficient_quota`: billing, not load, so
 *   waiting does not help (not retryable).
 * - `provider_error`: HTTP 5xx or 409, or an error object in a 200 body (retryable).
 * - `timeout`: no complete answer within `timeoutMs`, or HTTP 408 (retryable).
 * - `connection_failed`: refused, reset, DNS failure (retryable).
 * - `unsupported_response_format`: the provider refused the request's `response_format`
 *   (a 400 that names `response_format` or `json_schema`, or a 422, to a request that
 *   carried one): ask again without it (not retryable).
 * - `bad_request`: 400, 422 and other 4xx not listed here (not retryable).
 * - `authentication_failed`: 401, 403 (not retryable).
 * - `model_not_found`: 404 (not retryable).
 * - `malformed_response`: the body is not a chat completion (retryable).
 * - `empty_response`: the completion has no text (retryable).
 * - `cancelled`: the caller's `AbortSignal` fired (not retryable).
 * - `internal_error`: anything else, e.g. a bug (not retryable).
 */
export type ModelCallErrorCode =
  | "rate_limited"
  | "quota_exceeded"
  | "provider_error"
  | "timeout"
  | "connection_failed"
  | "unsupported_response_format"
  | "bad_request"
  | "authentication_failed"
  | "model_not_found"
  | "malformed_response"
  | "empty_response"
  | "cancelled"
  | "internal_error";

/** Details of a {@link ModelCallError} beyond its code and message. */
export interface ModelCallErrorDetails {
  /** True when repeating the same call later may succeed. */
  retryable: boolean;
  /** The model that was requested. */
  model: string;
  /** How many attempts were started before this error was raised (0 if none). */
  attempts: number;
  /** The HTTP status, when the provider answered with one. */
  status?: number;
  /** How long the provider asked us to wait (`Retry-After` / `retry-after-ms`), uncapped. */
  retryAfterMs?: number;
  /** The provider's own error code (e.g. `context_length_exceeded`), when it sent one. */
  providerCode?: string;
  cause?: unknown;
}

/** A model call that failed, classified so callers can act on `code` and `retryable`. */
export class ModelCallError extends RlmError {
  declare readonly code: ModelCallErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;
  readonly model: string;
  readonly providerCode: string | undefined;

  constructor(code: ModelCallErrorCode, message: string, details: ModelCallErrorDetails) {
    super(code, message, { retryable: details.retryable, cause: details.cause });
    this.name = "ModelCallError";
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
    this.model = details.model;
    this.providerCode = details.providerCode;
  }
}
