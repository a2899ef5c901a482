import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { toErrorResponse } from "../error-handler.js";
import { REDIS_RETRY_AFTER_SECONDS } from "../redis-guard.js";
import { bearerToken, type TokenVerifier } from "../token-verifier.js";

/** OpenAI's error body: what its clients parse into their error classes. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An error answered in OpenAI's shape (`{ error: { message, type, param, code } }`),
 * with an optional `x-should-retry`, which OpenAI's clients obey over their own rule
 * (they retry 409s and 5xx by default).
 */
export class OpenAiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    readonly shouldRetry?: boolean,
  ) {
    super(message);
    this.name = "OpenAiError";
  }

  /** 400 `invalid_request_error`. */
  static invalid(message: string, param: string | null = null): OpenAiError {
    return new OpenAiError(400, "invalid_request_error", "invalid_request", message, param);
  }

  get body(): OpenAiErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** OpenAI's error type for a status. */
function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/** Anything a route or Fastify throws, as an `OpenAiError` (the API's mapping, reshaped). */
export function toOpenAiError(error: unknown): OpenAiError {
  if (error instanceof OpenAiError) return error;
  const { statusCode, body } = toErrorResponse(error);
  const retryable = body.error.retryable;
  return new OpenAiError(
    statusCode,
    typeOf(statusCode),
    body.error.code,
    body.error.message,
    null,
    retryable === undefined ? undefined : retryable,
  );
}

/** Answers with an `OpenAiError` (headers included); logs server errors as the API does. */
export function sendOpenAiError(reply: FastifyReply, error: OpenAiError): FastifyReply {
  if (error.statusCode === 503) reply.header("retry-after", String(REDIS_RETRY_AFTER_SECONDS));
  if (error.shouldRetry !== undefined) reply.header("x-should-retry", String(error.shouldRetry));
  return reply.code(error.statusCode).send(error.body);
}

/** The error handler of the OpenAI-compatible routes. */
export function handleOpenAiError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const answer = toOpenAiError(error);
  if (answer.statusCode >= 500 && answer.statusCode !== 503) {
    request.log.error({ err: error }, "request failed");
  } else {
    request.log.info({ code: answer.code, statusCode: answer.statusCode }, "request rejected");
  }
  return sendOpenAiError(reply, answer);
}

/** Bearer authentication answering in OpenAI's shape (the token is the client's API key). */
export function openAiAuth(verifier: TokenVerifier): onRequestAsyncHookHandler {
  return async (request, reply) => {
    if (verifier.verify(bearerToken(request.headers.authorization))) return;
    reply.header("www-authenticate", 'Bearer realm="rlm"');
    return sendOpenAiError(
      reply,
      new OpenAiError(
        401,
        "authentication_error",
        "invalid_api_key",
        "a valid API key is required: the server's RLM_API_TOKEN, as the Bearer token",
      ),
    );
  };
}
