/**
 * Schemas of the analysis endpoints, one place per route: the request schemas Fastify
 * validates (types and shapes are checked here, at the edge, so a client gets a 400
 * naming the field; value ranges, e.g. `maxDepth` ≤ 10, are left to the engine's own
 * option validation, the single source of truth, whose `invalid_options` errors also
 * become 400s) and each route's whole `schema` (operation id, summary, parameters,
 * bodies, responses), from which the OpenAPI document and the typed client are made.
 *
 * Schemas with an `$id` are components: registered once by the server
 * (`API_COMPONENT_SCHEMAS`), pointed at with `{ $ref: "<$id>#" }`.
 */

import { analysisEventSchema } from "./analysis-event-schemas.js";
import { errorResponses } from "./common-schemas.js";

const integer = { type: "integer" } as const;
const nonEmptyString = { type: "string", minLength: 1 } as const;

/** Engine options a client may set. Unknown keys are rejected, not silently dropped. */
export const analysisOptionsSchema = {
  $id: "AnalysisOptions",
  type: "object",
  additionalProperties: false,
  properties: {
    rootModel: nonEmptyString,
    subModel: nonEmptyString,
    maxIterations: integer,
    maxDepth: integer,
    subConcurrency: integer,
    previewChars: integer,
    maxOutputTokens: integer,
    outputSchema: {
      type: "object",
      additionalProperties: true,
      description: "A JSON Schema the answer must match: result.output holds the validated value.",
    },
    budgets: {
      type: "object",
      additionalProperties: false,
      properties: {
        maxSubCalls: integer,
        maxTokens: integer,
        maxCostUsd: { type: "number" },
        deadlineMs: integer,
      },
    },
    limits: {
      type: "object",
      additionalProperties: false,
      properties: {
        cellTimeoutMs: integer,
        cellCpuMs: integer,
        memoryMb: integer,
        outputChars: integer,
        answerChars: integer,
        maxPendingSubCalls: integer,
        subCallChars: integer,
      },
    },
  },
} as const;

/** Where an analysis's end is POSTed, signed (Standard Webhooks). */
export const webhookSchema = {
  $id: "Webhook",
  type: "object",
  required: ["url"],
  additionalProperties: false,
  description:
    "When the analysis ends (completed, failed or cancelled), the server POSTs " +
    '`{ type: "analysis.completed" | "analysis.failed" | "analysis.cancelled", ' +
    "timestamp, data: { id, status, result?, error? } }` to `url`, signed the Standard " +
    "Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature` with the " +
    "server's RLM_WEBHOOK_SECRET), retried with exponential backoff for about 10 minutes " +
    "until the receiver answers 2xx. The same `webhook-id` on every try: deduplicate on it.",
  properties: {
    url: {
      type: "string",
      minLength: 1,
      maxLength: 2048,
      description:
        "An http(s) URL. Loopback and private addresses are refused unless the server " +
        "runs with RLM_WEBHOOK_ALLOW_PRIVATE=1.",
    },
  },
} as const;

/** Same bound as the producer's (`RlmQueueClient`): keys are stored in Redis key names. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const idempotencyKeySchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
} as const;

/**
 * The document: a string, a non-empty array or a non-empty object (each `min*` keyword
 * applies only to its own type). An empty string is refused in code: Ajv's `minLength`
 * counts code points by walking the whole string, which for a 200 MB document is a
 * long stall spent learning that it is not empty.
 */
const contextSchema = {
  type: ["string", "array", "object"],
  description: "The document: a string, an array of strings, or a JSON object.",
  minItems: 1,
  minProperties: 1,
  // Any JSON inside (written out so that typed clients get `unknown`, not "no keys").
  items: {},
  additionalProperties: true,
} as const;

/** Everything a request carries beside the document (multipart fields, text/plain query). */
export const analysisFieldsSchema = {
  type: "object",
  required: ["query"],
  additionalProperties: false,
  properties: {
    query: { ...nonEmptyString, description: "The question." },
    options: { $ref: "AnalysisOptions#" },
    idempotencyKey: {
      ...idempotencyKeySchema,
      description: "A retry with the same key returns the first analysis instead of a new one.",
    },
    webhook: { $ref: "Webhook#" },
  },
} as const;

/** The `application/json` body of `POST /v1/analyses`. */
export const analysisJsonBodySchema = {
  $id: "AnalysisRequest",
  type: "object",
  required: ["query", "context"],
  additionalProperties: false,
  properties: {
    ...analysisFieldsSchema.properties,
    context: contextSchema,
  },
} as const;

/** Query string of `POST /v1/analyses` (used by `text/plain` uploads). */
export const analysisQuerystringSchema = {
  type: "object",
  properties: {
    query: { type: "string", description: "The question (text/plain uploads)." },
    idempotencyKey: { type: "string", description: "As in the JSON body (text/plain uploads)." },
    options: { type: "string", description: "AnalysisOptions as JSON text (text/plain uploads)." },
    webhook: { type: "string", description: "Webhook as JSON text (text/plain uploads)." },
  },
} as const;

/**
 * `:id` of the analysis routes. Deliberately looser than the current id format
 * (`an_` + base32), so a well-formed but unknown id is a 404; anything that could not
 * be an id at all (a `:` would address other Redis keys) is a 400. Longer ids never get
 * here: Fastify answers 414 past its `maxParamLength` of 100.
 */
export const analysisParamsSchema = {
  type: "object",
  required: ["id"],
  properties: {
    id: {
      type: "string",
      pattern: "^[A-Za-z0-9_-]{1,100}$",
      description: "The analysis id (`an_…`).",
    },
  },
} as const;

/** `:id` after validation. */
export interface AnalysisParams {
  id: string;
}

/** Query string after validation. */
export interface AnalysisQuerystring {
  query?: string;
  idempotencyKey?: string;
  options?: string;
  webhook?: string;
}

/** The 202 of `POST /v1/analyses`. */
export const analysisAcceptedSchema = {
  $id: "AnalysisAccepted",
  type: "object",
  required: ["id", "status", "deduplicated", "links"],
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    status: { $ref: "AnalysisStatus#" },
    deduplicated: {
      type: "boolean",
      description: "True when the idempotency key was known: nothing new was enqueued.",
    },
    links: {
      type: "object",
      required: ["viewer"],
      additionalProperties: false,
      properties: { viewer: { type: "string", description: "The trajectory viewer's page." } },
    },
  },
} as const;

/** The 202 of `DELETE /v1/analyses/:id`. */
export const analysisCancelSchema = {
  $id: "AnalysisCancel",
  type: "object",
  required: ["id", "outcome"],
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    outcome: {
      type: "string",
      enum: ["cancelled", "requested"],
      description:
        "cancelled: it was still queued and is now cancelled; requested: it is running " +
        "and its worker stops at its next check.",
    },
  },
} as const;

/**
 * Bodies `POST /v1/analyses` accepts beside JSON, for the OpenAPI document only: the
 * handler reads them itself (`readAnalysisRequest`), against `analysisFieldsSchema`.
 * Fastify would validate a multipart body it never parsed, so they are not in `schema`.
 */
export const analysisUploadBodies = {
  "multipart/form-data": {
    schema: {
      type: "object",
      required: ["query", "context"],
      properties: {
        query: { type: "string", minLength: 1 },
        options: { type: "string", description: "AnalysisOptions as JSON text." },
        idempotencyKey: { type: "string" },
        webhook: { type: "string", description: 'Webhook as JSON text: {"url": "https://…"}.' },
        context: {
          type: "string",
          format: "binary",
          description:
            "The document, as a file or a field. A part named *.json or sent as " +
            "application/json is parsed as JSON; anything else is UTF-8 text.",
        },
      },
    },
  },
  "text/plain": {
    schema: {
      type: "string",
      description:
        "The document itself (any text/* type); query, options, idempotencyKey and " +
        "webhook go in the query string.",
    },
  },
} as const;

const tags = ["analyses"];

/** `POST /v1/analyses`. */
export const createAnalysisSchema = {
  operationId: "createAnalysis",
  summary: "Enqueue an analysis",
  description:
    "Stores the document once (content-addressed) and enqueues the root job. The body is " +
    "JSON, multipart/form-data (a file upload) or text (the document, with the fields in " +
    "the query string). With `webhook`, the analysis's end is POSTed to its URL, signed " +
    "(see the Webhook schema); a server without RLM_WEBHOOK_SECRET refuses it (400).",
  tags,
  headers: {
    type: "object",
    properties: {
      "idempotency-key": {
        type: "string",
        description:
          "Same as idempotencyKey in the body (they must agree when both are given). A retry " +
          "with the same key and the same request returns the first analysis " +
          "(`deduplicated: true`, header `Idempotent-Replayed: true`); the same key with a " +
          "different query, context or options is a 422.",
      },
    },
  },
  querystring: analysisQuerystringSchema,
  body: { content: { "application/json": { schema: { $ref: `${analysisJsonBodySchema.$id}#` } } } },
  response: {
    202: {
      description: "Enqueued (or found by its idempotency key).",
      headers: {
        location: { type: "string", description: "The analysis: /v1/analyses/{id}." },
        "idempotent-replayed": {
          type: "string",
          description: "`true` when the idempotency key was known: nothing new was enqueued.",
        },
      },
      $ref: `${analysisAcceptedSchema.$id}#`,
    },
    ...errorResponses(400, 401, 413, 415, 422, 500, 503),
  },
} as const;

/** `GET /v1/analyses/:id`. */
export const getAnalysisSchema = {
  operationId: "getAnalysis",
  summary: "An analysis: status, progress, result or error",
  tags,
  params: analysisParamsSchema,
  response: {
    200: { description: "The analysis.", $ref: "AnalysisView#" },
    ...errorResponses(400, 401, 404, 500, 503),
  },
} as const;

/** `GET /v1/analyses/:id/events`. */
export const analysisEventsSchema = {
  operationId: "streamAnalysisEvents",
  summary: "Follow an analysis as server-sent events",
  description:
    "Every event from the first kept one (or after `Last-Event-ID`), then the stream ends " +
    "after the terminal event. Each message's `data` is an `AnalysisEvent` " +
    "(components/schemas), its `event` the event's type, its `id` usable as " +
    "`Last-Event-ID` to resume. Comment lines are heartbeats. An `error` message " +
    "(data: `{ code, message, retryable }`) means the stream itself failed: reconnect " +
    "with `Last-Event-ID`.",
  tags,
  params: analysisParamsSchema,
  headers: {
    type: "object",
    properties: {
      "last-event-id": { type: "string", description: "Resume after this event id." },
    },
  },
  response: {
    200: {
      description: "An event stream.",
      content: {
        "text/event-stream": {
          schema: {
            type: "string",
            description: `Server-sent events whose data is an ${analysisEventSchema.$id}.`,
          },
        },
      },
    },
    ...errorResponses(400, 401, 404, 500, 503),
  },
} as const;

/** `DELETE /v1/analyses/:id`. */
export const cancelAnalysisSchema = {
  operationId: "cancelAnalysis",
  summary: "Cancel an analysis",
  description: "The analysis and its queued sub-calls stop.",
  tags,
  params: analysisParamsSchema,
  response: {
    202: { description: "Cancelled, or cancel requested.", $ref: `${analysisCancelSchema.$id}#` },
    ...errorResponses(400, 401, 404, 409, 500, 503),
  },
} as const;
