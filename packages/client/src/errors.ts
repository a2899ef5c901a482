import type { ErrorBody } from "./api-types.js";

/** Codes the client gives errors that are not the server's (beside the API's own codes). */
export const ClientErrorCode = {
  /** The request did not reach the server, or its answer was cut. */
  network: "network_error",
  /** `timeoutMs` passed before the analysis ended (it may still finish). */
  timeout: "timeout",
  /** The caller's signal aborted the wait. */
  aborted: "aborted",
  /** The analysis ended as failed; `message` is its error's. */
  analysisFailed: "analysis_failed",
  /** The analysis was cancelled. */
  cancelled: "cancelled",
  /** The server answered something the API does not document. */
  unexpectedResponse: "unexpected_response",
} as const;

/** Fields of an `RlmApiError` beside its message. */
export interface RlmApiErrorDetails {
  /** HTTP status, when the server answered. */
  status?: number;
  retryable: boolean;
  /** The analysis the error is about, when there is one. */
  analysisId?: string;
  cause?: unknown;
}

/**
 * Any failure of the client: an error answer of the API (its `code`, e.g.
 * `invalid_request`, `not_found`), a network failure, a wait that timed out, or an
 * analysis that failed or was cancelled. `retryable` says whether the same call may
 * succeed later.
 */
export class RlmApiError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly analysisId: string | undefined;

  constructor(code: string, message: string, details: RlmApiErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RlmApiError";
    this.code = code;
    this.retryable = details.retryable;
    this.status = details.status;
    this.analysisId = details.analysisId;
  }

  /** The error of an answer with an error status (its body an `ErrorBody` when documented). */
  static fromResponse(response: Response, body: unknown): RlmApiError {
    const error = (body as Partial<ErrorBody> | undefined)?.error;
    // Overload and outages pass; a 4xx is the request's own fault.
    const transient = response.status === 429 || response.status >= 500;
    return new RlmApiError(
      typeof error?.code === "string" ? error.code : `http_${response.status}`,
      typeof error?.message === "string" ? error.message : `HTTP ${response.status}`,
      { status: response.status, retryable: error?.retryable ?? transient },
    );
  }

  /** A request that got no answer (refused, reset, DNS). */
  static network(cause: unknown): RlmApiError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new RlmApiError(ClientErrorCode.network, `request failed: ${reason}`, {
      retryable: true,
      cause,
    });
  }
}
