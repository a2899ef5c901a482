/** The JSON body of every error response: a stable `code` and a human message. */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    /** Present on server errors: true when the same request may succeed later. */
    retryable?: boolean;
  };
}

/**
 * An error a route throws to answer with a given status and code. The error handler
 * turns it into an `ApiErrorBody`; its message is meant for the client, so it must
 * never carry document text or secrets.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;

  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** Stable error codes of the HTTP API, beside the `RlmError` codes passed through. */
export const ApiErrorCode = {
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  invalidRequest: "invalid_request",
  payloadTooLarge: "payload_too_large",
  unsupportedMediaType: "unsupported_media_type",
  notFound: "not_found",
  alreadyFinished: "already_finished",
  idempotencyKeyReused: "idempotency_key_reused",
  redisUnavailable: "redis_unavailable",
  internalError: "internal_error",
} as const;

/** Builds an error body. */
export function errorBody(code: string, message: string, retryable?: boolean): ApiErrorBody {
  return { error: { code, message, ...(retryable === undefined ? {} : { retryable }) } };
}
