/**
 * Schemas of `GET /v1/analyses`: the list of analyses, newest first, a page at a time,
 * from the index the queue keeps (a sorted set by creation time: no SCAN). Components
 * as in analysis-view-schemas.ts; `AnalysisSummary` mirrors @rlm/queue's type.
 */
import { errorResponses } from "./common-schemas.js";
import { finishReasonSchema } from "./analysis-view-schemas.js";

const STATUS = "(queued|running|waiting|completed|failed|cancelled)";

/** One analysis of a list: its state, not its result. */
export const analysisSummarySchema = {
  $id: "AnalysisSummary",
  type: "object",
  required: ["id", "status", "query", "createdAt", "updatedAt", "progress", "cancelRequested"],
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    status: { $ref: "AnalysisStatus#" },
    query: { type: "string", description: "The question's first 500 characters." },
    createdAt: { type: "string", format: "date-time" },
    updatedAt: { type: "string", format: "date-time" },
    progress: { $ref: "AnalysisProgress#" },
    cancelRequested: { type: "boolean" },
    finishReason: { ...finishReasonSchema, description: "Once ended with a result." },
    error: { $ref: "AnalysisError#", description: "Once failed." },
  },
} as const;

/** A page of `GET /v1/analyses`. */
export const analysisListSchema = {
  $id: "AnalysisList",
  type: "object",
  required: ["data"],
  additionalProperties: false,
  properties: {
    data: {
      type: "array",
      items: { $ref: "AnalysisSummary#" },
      description: "Newest first. May hold fewer than `limit` while more remain.",
    },
    nextCursor: {
      type: "string",
      description: "Present while older analyses may remain: pass it as `cursor`.",
    },
  },
} as const;

/** Query string of `GET /v1/analyses` (`limit` arrives as text and is read as a number). */
export const listAnalysesQuerystring = {
  type: "object",
  additionalProperties: false,
  properties: {
    status: {
      type: "string",
      pattern: `^${STATUS}(,${STATUS})*$`,
      description:
        "Only analyses in this status, or any of several comma-separated ones " +
        "(`status=running,waiting`).",
    },
    since: {
      type: "string",
      maxLength: 40,
      description:
        "Only analyses created at or after this time: ISO 8601 (`2025-05-01T12:00:00Z`) " +
        "or milliseconds since the epoch.",
    },
    limit: {
      type: "integer",
      minimum: 1,
      maximum: 100,
      description: "Analyses per page, 1 to 100 (default 20).",
    },
    cursor: {
      type: "string",
      maxLength: 512,
      description: "The `nextCursor` of the page before.",
    },
  },
} as const;

/** The query string after validation. */
export interface ListAnalysesQuerystring {
  status?: string;
  since?: string;
  limit?: number;
  cursor?: string;
}

/** `GET /v1/analyses`. */
export const listAnalysesSchema = {
  operationId: "listAnalyses",
  summary: "List analyses, newest first",
  description:
    "A page of the analyses enqueued here (still kept: records expire with their " +
    "retention), newest first, narrowed by status and creation time. Follow `nextCursor` " +
    "until it is absent; a page looks at up to 1,000 analyses, so with a rare status it " +
    "may come back short, or empty, with a cursor to go on. Each item is the analysis's " +
    "state; `GET /v1/analyses/{id}` has its result.",
  tags: ["analyses"],
  querystring: listAnalysesQuerystring,
  response: {
    200: { description: "A page of analyses.", $ref: `${analysisListSchema.$id}#` },
    ...errorResponses(400, 401, 500, 503),
  },
} as const;
