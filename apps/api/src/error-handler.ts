import { RlmError } from "@rlm/core";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ApiErrorBody, ApiErrorCode, errorBody } from "./api-error.js";
import { isRedisUnreachable, REDIS_RETRY_AFTER_SECONDS, REDIS_UNAVAILABLE } from "./redis-guard.js";

/** Fastify and @fastify/multipart codes for a body over its limit. */
const TOO_LARGE_CODES = new Set([
  "FST_ERR_CTP_BODY_TOO_LARGE",
  "FST_REQ_FILE_TOO_LARGE",
  "FST_PARTS_LIMIT",
  "FST_FILES_LIMIT",
  "FST_FIELDS_LIMIT",
]);

/** An HTTP answer for an error: status and body. */
export interface ErrorResponse {
  statusCode: number;
  body: ApiErrorBody;
}

/**
 * Maps anything a route or Fastify throws to a status and an `ApiErrorBody`:
 * Redis unreachable → 503 `redis_unavailable` (retryable, with `Retry-After`),
 * schema failures → 400, bodies over the limit → 413, `RlmError`s by code
 * (`not_found` 404, `invalid_*` 400, anything else 500 with `retryable`).
 * Server errors get a generic message: stacks and internals never reach the client.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (isRedisUnreachable(error)) {
    return {
      statusCode: 503,
      body: errorBody(REDIS_UNAVAILABLE, "Redis cannot be reached: try again shortly", true),
    };
  }
  if (error instanceof ApiError) {
    return { statusCode: error.statusCode, body: errorBody(error.code, error.message) };
  }
  if (error instanceof RlmError) return fromRlmError(error);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    return respond(400, ApiErrorCode.invalidRequest, String(fastifyError.message));
  }
  if (fastifyError.code !== undefined && TOO_LARGE_CODES.has(fastifyError.code)) {
    return respond(413, ApiErrorCode.payloadTooLarge, "request body is larger than allowed");
  }
  if (fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return respond(
      415,
      ApiErrorCode.unsupportedMediaType,
      "use application/json, multipart/form-data or text/plain",
    );
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Client errors from Fastify and plugins (invalid JSON, empty body, bad multipart):
    // their messages describe the request, not the server.
    const code =
      status === 400
        ? ApiErrorCode.invalidRequest
        : status === 413
          ? ApiErrorCode.payloadTooLarge
          : status === 414
            ? "uri_too_long"
            : `http_${status}`;
    return respond(status, code, String(fastifyError.message ?? "bad request"));
  }
  return {
    statusCode: 500,
    body: errorBody(ApiErrorCode.internalError, "internal server error", false),
  };
}

function fromRlmError(error: RlmError): ErrorResponse {
  if (error.code === "not_found") return respond(404, error.code, error.message);
  // One code for every "fix your request" answer, whichever layer noticed.
  if (error.code.startsWith("invalid_")) {
    return respond(400, ApiErrorCode.invalidRequest, error.message);
  }
  // The message of an RlmError is written for callers (no stack, no document), but
  // server-side failures stay 500s so clients do not take them for their own fault.
  return { statusCode: 500, body: errorBody(error.code, error.message, error.retryable) };
}

function respond(statusCode: number, code: string, message: string): ErrorResponse {
  return { statusCode, body: errorBody(code, message) };
}

/** The server's error handler: logs server errors with their stack, answers with `toErrorResponse`. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { statusCode, body } = toErrorResponse(error);
  if (statusCode === 503) {
    // Not a fault of this server: one line without a stack, and a hint to come back.
    request.log.warn({ code: body.error.code }, "request refused: Redis unreachable");
    reply.header("retry-after", String(REDIS_RETRY_AFTER_SECONDS));
  } else if (statusCode >= 500) request.log.error({ err: error }, "request failed");
  else request.log.info({ code: body.error.code, statusCode }, "request rejected");
  return reply.code(statusCode).send(body);
}
