/**
 * Schemas of the session endpoints, as analysis-schemas.ts does for analyses: the request
 * schemas Fastify validates, the answers (components with an `$id`, closed with
 * `additionalProperties: false`, mirroring `SessionView` of @rlm/queue) and each route's
 * whole `schema`, from which the OpenAPI document and the typed client are made.
 */

import {
  analysisParamsSchema,
  analysisUploadBodies,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "./analysis-schemas.js";
import { errorResponses } from "./common-schemas.js";

const nonNegativeInteger = { type: "integer", minimum: 0 } as const;

const idempotencyKeySchema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
} as const;

/** The document, as `POST /v1/analyses` takes it. */
const contextSchema = {
  type: ["string", "array", "object"],
  description: "The document: a string, an array of strings, or a JSON object.",
  minItems: 1,
  minProperties: 1,
  items: {},
  additionalProperties: true,
} as const;

/** Everything a session request carries beside the document (multipart fields, text/plain query). */
export const sessionFieldsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    options: {
      $ref: "AnalysisOptions#",
      description: "Options of every question of the session, under each question's own.",
    },
    idempotencyKey: {
      ...idempotencyKeySchema,
      description: "A retry with the same key returns the first session instead of a new one.",
    },
  },
} as const;

/** The `application/json` body of `POST /v1/sessions`. */
export const sessionJsonBodySchema = {
  $id: "SessionRequest",
  type: "object",
  required: ["context"],
  additionalProperties: false,
  properties: { ...sessionFieldsSchema.properties, context: contextSchema },
} as const;

/** The body of `POST /v1/sessions/:id/analyses`. */
export const sessionQuestionBodySchema = {
  $id: "SessionQuestionRequest",
  type: "object",
  required: ["query"],
  additionalProperties: false,
  properties: {
    query: { type: "string", minLength: 1, description: "The question." },
    options: { $ref: "AnalysisOptions#", description: "Over the session's options." },
    idempotencyKey: {
      ...idempotencyKeySchema,
      description:
        "Within the session, a retry with the same key returns the first question " +
        "instead of asking it again.",
    },
  },
} as const;

/** Query string of `POST /v1/sessions` (used by `text/plain` uploads). */
export const sessionQuerystringSchema = {
  type: "object",
  properties: {
    idempotencyKey: { type: "string", description: "As in the JSON body (text/plain uploads)." },
    options: { type: "string", description: "AnalysisOptions as JSON text (text/plain uploads)." },
  },
} as const;

/** `:id` of the session routes: loose, so a well-formed unknown id is a 404. */
export const sessionParamsSchema = {
  type: "object",
  required: ["id"],
  properties: {
    id: { ...analysisParamsSchema.properties.id, description: "The session id (`se_…`)." },
  },
} as const;

/** `:id` after validation. */
export interface SessionParams {
  id: string;
}

/** The body of `POST /v1/sessions/:id/analyses` after validation. */
export interface SessionQuestionBody {
  query: string;
  options?: Record<string, unknown>;
  idempotencyKey?: string;
}

/** One question of a session. */
export const sessionQuestionSchema = {
  $id: "SessionQuestion",
  type: "object",
  required: ["analysisId", "position", "query", "status"],
  additionalProperties: false,
  properties: {
    analysisId: { type: "string", description: "Its analysis: /v1/analyses/{analysisId}." },
    position: { ...nonNegativeInteger, description: "0 for the session's first question." },
    query: { type: "string" },
    status: { $ref: "AnalysisStatus#" },
    answer: { type: "string", description: "Once it has ended with an answer." },
    finishReason: {
      type: "string",
      enum: ["final", "max_iterations", "budget", "cancelled", "error"],
    },
  },
} as const;

const sessionViewProperties = {
  id: { type: "string" },
  createdAt: { type: "string", format: "date-time" },
  updatedAt: { type: "string", format: "date-time" },
  questions: {
    type: "array",
    items: { $ref: "SessionQuestion#" },
    description: "Oldest first.",
  },
} as const;

/** `GET /v1/sessions/:id`. */
export const sessionViewSchema = {
  $id: "SessionView",
  type: "object",
  required: ["id", "createdAt", "updatedAt", "questions"],
  additionalProperties: false,
  properties: sessionViewProperties,
} as const;

/** The 201 of `POST /v1/sessions`. */
export const sessionCreatedSchema = {
  $id: "SessionCreated",
  type: "object",
  required: [...sessionViewSchema.required, "deduplicated"],
  additionalProperties: false,
  properties: {
    ...sessionViewProperties,
    deduplicated: {
      type: "boolean",
      description: "True when the idempotency key was known: no session was created.",
    },
  },
} as const;

/** The 202 of `POST /v1/sessions/:id/analyses`. */
export const sessionQuestionAcceptedSchema = {
  $id: "SessionQuestionAccepted",
  type: "object",
  required: ["id", "status", "deduplicated", "sessionId", "position", "links"],
  additionalProperties: false,
  properties: {
    id: { type: "string", description: "The question's analysis id." },
    status: { $ref: "AnalysisStatus#" },
    deduplicated: {
      type: "boolean",
      description: "True when the idempotency key was known: nothing new was asked.",
    },
    sessionId: { type: "string" },
    position: { ...nonNegativeInteger, description: "0 for the session's first question." },
    links: {
      type: "object",
      required: ["viewer"],
      additionalProperties: false,
      properties: { viewer: { type: "string", description: "The trajectory viewer's page." } },
    },
  },
} as const;

/** Bodies `POST /v1/sessions` accepts beside JSON, for the OpenAPI document only. */
export const sessionUploadBodies = {
  "multipart/form-data": {
    schema: {
      type: "object",
      required: ["context"],
      properties: {
        options: { type: "string", description: "AnalysisOptions as JSON text." },
        idempotencyKey: { type: "string" },
        context: analysisUploadBodies["multipart/form-data"].schema.properties.context,
      },
    },
  },
  "text/plain": {
    schema: {
      type: "string",
      description:
        "The document itself (any text/* type); options and idempotencyKey go in the query string.",
    },
  },
} as const;

const tags = ["sessions"];

const idempotencyHeader = (what: string) =>
  ({
    type: "object",
    properties: {
      "idempotency-key": {
        type: "string",
        description:
          `Same as idempotencyKey in the body (they must agree when both are given). A retry ` +
          `with the same key and the same request returns the first ${what} ` +
          "(`deduplicated: true`, header `Idempotent-Replayed: true`); the same key with a " +
          "different request is a 422.",
      },
    },
  }) as const;

/** `POST /v1/sessions`. */
export const createSessionSchema = {
  operationId: "createSession",
  summary: "Create a session over a document",
  description:
    "Stores the document once (content-addressed) for the questions asked in the session. " +
    "The body is JSON, multipart/form-data (a file upload) or text (the document, with the " +
    "fields in the query string), as for POST /v1/analyses.",
  tags,
  headers: idempotencyHeader("session"),
  querystring: sessionQuerystringSchema,
  body: { content: { "application/json": { schema: { $ref: `${sessionJsonBodySchema.$id}#` } } } },
  response: {
    201: {
      description: "Created (or found by its idempotency key).",
      headers: {
        location: { type: "string", description: "The session: /v1/sessions/{id}." },
        "idempotent-replayed": {
          type: "string",
          description: "`true` when the idempotency key was known: no session was created.",
        },
      },
      $ref: `${sessionCreatedSchema.$id}#`,
    },
    ...errorResponses(400, 401, 413, 415, 422, 500, 503),
  },
} as const;

/** `GET /v1/sessions/:id`. */
export const getSessionSchema = {
  operationId: "getSession",
  summary: "A session: its questions, their status and answers",
  tags,
  params: sessionParamsSchema,
  response: {
    200: { description: "The session.", $ref: `${sessionViewSchema.$id}#` },
    ...errorResponses(400, 401, 404, 500, 503),
  },
} as const;

/** `POST /v1/sessions/:id/analyses`. */
export const askSessionSchema = {
  operationId: "askSession",
  summary: "Ask a question in a session",
  description:
    "Enqueues the question as an analysis (follow it at /v1/analyses/{id}). It runs once the " +
    "session's earlier questions have ended, and its REPL starts from the state they left: " +
    "their variables, and `history` (their queries and answers).",
  tags,
  params: sessionParamsSchema,
  headers: idempotencyHeader("question"),
  body: {
    content: { "application/json": { schema: { $ref: `${sessionQuestionBodySchema.$id}#` } } },
  },
  response: {
    202: {
      description: "Enqueued (or found by its idempotency key).",
      headers: {
        location: { type: "string", description: "The question's analysis: /v1/analyses/{id}." },
        "idempotent-replayed": {
          type: "string",
          description: "`true` when the idempotency key was known: nothing new was asked.",
        },
      },
      $ref: `${sessionQuestionAcceptedSchema.$id}#`,
    },
    ...errorResponses(400, 401, 404, 415, 422, 500, 503),
  },
} as const;
