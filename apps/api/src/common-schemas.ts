/**
 * Schemas shared by every route: the error body and the health body. Each has an `$id`:
 * the server registers it once (`app.addSchema`), routes point at it with
 * `{ $ref: "<$id>#" }`, and the OpenAPI document lists it under `components.schemas`
 * by that name (so the typed client gets `components["schemas"]["ErrorBody"]`).
 */

/** `{ error: { code, message, retryable? } }`: the body of every 4xx and 5xx answer. */
export const errorBodySchema = {
  $id: "ErrorBody",
  type: "object",
  description: "The body of every error answer.",
  required: ["error"],
  additionalProperties: false,
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      additionalProperties: false,
      properties: {
        code: {
          type: "string",
          description:
            "Stable code: unauthorized, invalid_request, payload_too_large, " +
            "unsupported_media_type, not_found, already_finished, idempotency_key_reused, " +
            "redis_unavailable, internal_error, …",
        },
        message: { type: "string", description: "What went wrong, for a person." },
        retryable: {
          type: "boolean",
          description: "On server errors: true when the same request may succeed later.",
        },
      },
    },
  },
} as const;

/** What each error status means on this API, for the OpenAPI document. */
const ERROR_MEANINGS = {
  400: "The request is malformed; the message names the field.",
  401: "No valid bearer token (`Authorization: Bearer <RLM_API_TOKEN>`).",
  404: "No such analysis or session (or it has expired).",
  409: "The analysis has already finished.",
  413: "The body is larger than the server allows (`RLM_MAX_UPLOAD_MB`).",
  415: "The content type is not JSON, multipart/form-data or text, or its charset is not UTF-8.",
  422: "The Idempotency-Key was first used with a different request (`idempotency_key_reused`).",
  500: "The server failed; `retryable` says whether to try again.",
  503: "Redis cannot be reached (`redis_unavailable`, retryable): try again after `Retry-After` seconds.",
} as const;

const RETRY_AFTER_HEADER = {
  type: "string",
  description: "Seconds to wait before trying again.",
} as const;

/** An error status this API answers with. */
export type ErrorStatus = keyof typeof ERROR_MEANINGS;

/**
 * Response schemas of the given error statuses, each an `ErrorBody`:
 * `response: { 202: …, ...errorResponses(400, 401) }`.
 */
export function errorResponses(...statuses: ErrorStatus[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERROR_MEANINGS[status],
        ...(status === 503 ? { headers: { "retry-after": RETRY_AFTER_HEADER } } : {}),
        $ref: `${errorBodySchema.$id}#`,
      },
    ]),
  );
}

/** The `/health` body. */
export const healthBodySchema = {
  $id: "HealthBody",
  type: "object",
  required: ["status", "redis"],
  additionalProperties: false,
  properties: {
    status: { type: "string", enum: ["ok", "degraded"] },
    redis: { type: "string", enum: ["ok", "unreachable"] },
  },
} as const;

/** Route schema of `GET /health` (no authentication). */
export const healthRouteSchema = {
  operationId: "getHealth",
  summary: "Whether the API reaches Redis",
  description:
    "No authentication: for load balancers and orchestrators. 200 when Redis answers " +
    "PING within a second, 503 otherwise.",
  tags: ["health"],
  security: [],
  response: {
    200: { description: "Redis answers.", $ref: `${healthBodySchema.$id}#` },
    503: {
      description: "Redis is unreachable.",
      headers: { "retry-after": RETRY_AFTER_HEADER },
      $ref: `${healthBodySchema.$id}#`,
    },
  },
} as const;
