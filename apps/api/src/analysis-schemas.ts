/**
 * JSON schemas of the analysis endpoints. Types and shapes are checked here, at the
 * edge, so a client gets a 400 naming the field; value ranges (e.g. `maxDepth` ≤ 10)
 * are left to the engine's own option validation, the single source of truth, whose
 * `invalid_options` errors also become 400s.
 */

const integer = { type: "integer" } as const;
const nonEmptyString = { type: "string", minLength: 1 } as const;

/** Engine options a client may set. Unknown keys are rejected, not silently dropped. */
export const analysisOptionsSchema = {
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
      },
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
  minItems: 1,
  minProperties: 1,
} as const;

/** Everything a request carries beside the document (multipart fields, text/plain query). */
export const analysisFieldsSchema = {
  type: "object",
  required: ["query"],
  additionalProperties: false,
  properties: {
    query: nonEmptyString,
    options: analysisOptionsSchema,
    idempotencyKey: idempotencyKeySchema,
  },
} as const;

/** The `application/json` body of `POST /v1/analyses`. */
export const analysisJsonBodySchema = {
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
    query: { type: "string" },
    idempotencyKey: { type: "string" },
    /** Engine options as JSON text. */
    options: { type: "string" },
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
    id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,100}$" },
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
}
