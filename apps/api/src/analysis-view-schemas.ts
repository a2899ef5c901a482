/**
 * Schemas of what the API answers about an analysis (its view, its result), as
 * components with an `$id` (see common-schemas.ts). They mirror `AnalysisView` of
 * @rlm/queue and `RlmResult` of @rlm/core field for field, closed with
 * `additionalProperties: false`: the API's tests validate real answers against them, so
 * a field added to those types without its schema fails there instead of going
 * undocumented (or missing from the typed client).
 */

const nonNegativeInteger = { type: "integer", minimum: 0 } as const;
const costUsd = {
  type: ["number", "null"],
  description: "US dollars, or null when a model's price is unknown.",
} as const;

/** Where an analysis is in its life. */
export const analysisStatusSchema = {
  $id: "AnalysisStatus",
  type: "string",
  enum: ["queued", "running", "waiting", "completed", "failed", "cancelled"],
  description: "The last three are terminal.",
} as const;

/** Tokens and cost of some model calls. */
export const tokenUsageSchema = {
  $id: "TokenUsage",
  type: "object",
  required: ["inputTokens", "outputTokens", "cachedInputTokens", "costUsd"],
  additionalProperties: false,
  properties: {
    inputTokens: nonNegativeInteger,
    outputTokens: nonNegativeInteger,
    cachedInputTokens: nonNegativeInteger,
    costUsd,
  },
} as const;

/** Usage of a whole analysis, with a breakdown per model. */
export const usageSummarySchema = {
  $id: "UsageSummary",
  type: "object",
  required: [...tokenUsageSchema.required, "byModel"],
  additionalProperties: false,
  properties: {
    ...tokenUsageSchema.properties,
    byModel: { type: "object", additionalProperties: { $ref: "TokenUsage#" } },
  },
} as const;

/** Progress counters, as the view and `progress` events carry them. */
export const analysisProgressSchema = {
  $id: "AnalysisProgress",
  type: "object",
  required: [
    "iteration",
    "maxIterations",
    "subCallsDone",
    "subCallsTotal",
    "inputTokens",
    "outputTokens",
    "costUsd",
  ],
  additionalProperties: false,
  properties: {
    iteration: { ...nonNegativeInteger, description: "Root iteration under way (0 before)." },
    maxIterations: nonNegativeInteger,
    subCallsDone: nonNegativeInteger,
    subCallsTotal: { ...nonNegativeInteger, description: "Sub-calls started so far." },
    inputTokens: nonNegativeInteger,
    outputTokens: nonNegativeInteger,
    costUsd,
  },
} as const;

/** `{ code, message, retryable }` of a failed analysis (or of a result's stop). */
export const analysisErrorSchema = {
  $id: "AnalysisError",
  type: "object",
  required: ["code", "message", "retryable"],
  additionalProperties: false,
  properties: {
    code: { type: "string" },
    message: { type: "string" },
    retryable: { type: "boolean" },
  },
} as const;

export const finishReasonSchema = {
  type: "string",
  enum: ["final", "max_iterations", "budget", "cancelled", "error"],
} as const;

const replHistoryEntrySchema = {
  type: "object",
  required: ["iteration", "code", "output", "durationMs", "subCalls"],
  additionalProperties: false,
  properties: {
    iteration: nonNegativeInteger,
    code: { type: "string" },
    output: { type: "string" },
    error: { type: "string" },
    durationMs: { type: "number" },
    subCalls: nonNegativeInteger,
    unawaitedSubCalls: {
      ...nonNegativeInteger,
      description: "Sub-calls still pending when the cell ended (a forgotten await).",
    },
  },
} as const;

const chatMessageSchema = {
  type: "object",
  required: ["role", "content"],
  additionalProperties: false,
  properties: {
    role: { type: "string", enum: ["system", "user", "assistant"] },
    content: { type: "string" },
  },
} as const;

/** The result of a completed analysis. */
export const analysisResultSchema = {
  $id: "AnalysisResult",
  type: "object",
  required: [
    "answer",
    "finishReason",
    "iterations",
    "totalCalls",
    "replHistory",
    "messages",
    "usage",
    "durationMs",
  ],
  additionalProperties: false,
  properties: {
    answer: { type: "string", description: "With an outputSchema: the JSON text of output." },
    output: {
      description: "The validated answer, when the request had an outputSchema and it matched.",
    },
    finishReason: finishReasonSchema,
    iterations: { ...nonNegativeInteger, description: "Root iterations run." },
    totalCalls: { ...nonNegativeInteger, description: "Model calls, root and sub-calls." },
    replHistory: { type: "array", items: replHistoryEntrySchema },
    messages: {
      type: "array",
      items: chatMessageSchema,
      description: "The root conversation as the model saw it.",
    },
    usage: { $ref: "UsageSummary#" },
    durationMs: { type: "number", description: "The whole analysis, across resumes." },
    error: {
      $ref: "AnalysisError#",
      description: "Set when finishReason is error (and for budget/cancelled: which, why).",
    },
  },
} as const;

/** `GET /v1/analyses/:id`. */
export const analysisViewSchema = {
  $id: "AnalysisView",
  type: "object",
  required: ["id", "status", "query", "progress", "cancelRequested", "createdAt", "updatedAt"],
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    status: { $ref: "AnalysisStatus#" },
    query: { type: "string" },
    progress: { $ref: "AnalysisProgress#" },
    result: { $ref: "AnalysisResult#", description: "Once completed." },
    error: { $ref: "AnalysisError#", description: "Once failed." },
    cancelRequested: { type: "boolean" },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
  },
} as const;
