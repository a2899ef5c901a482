import type { components } from "./generated/api-types.js";

type Schemas = components["schemas"];

/** The body of `POST /v1/analyses` as JSON: `{ query, context, options?, idempotencyKey? }`. */
export type AnalysisRequest = Schemas["AnalysisRequest"];
/** Engine options a request may set (models, iterations, depth, budgets, limits). */
export type AnalysisOptions = Schemas["AnalysisOptions"];
/** The document: a string, an array, or a JSON object. */
export type AnalysisContext = AnalysisRequest["context"];
/** The 202 of `POST /v1/analyses`. */
export type AnalysisAccepted = Schemas["AnalysisAccepted"];
/** `GET /v1/analyses/:id`: status, progress, and the result or error once there. */
export type AnalysisView = Schemas["AnalysisView"];
/** Where an analysis is in its life. */
export type AnalysisStatus = Schemas["AnalysisStatus"];
/** Progress counters of an analysis. */
export type AnalysisProgress = Schemas["AnalysisProgress"];
/** The result of a completed analysis. */
export type AnalysisResult = Schemas["AnalysisResult"];
/** Why an analysis failed. */
export type AnalysisError = Schemas["AnalysisError"];
/** The 202 of `DELETE /v1/analyses/:id`. */
export type AnalysisCancel = Schemas["AnalysisCancel"];
/** One event of `GET /v1/analyses/:id/events`. */
export type AnalysisEvent = Schemas["AnalysisEvent"];
/** Usage of an analysis: tokens and cost, in total and per model. */
export type UsageSummary = Schemas["UsageSummary"];
/** The JSON body of `POST /v1/sessions`: `{ context, options?, idempotencyKey? }`. */
export type SessionRequest = Schemas["SessionRequest"];
/** The body of `POST /v1/sessions/:id/analyses`: `{ query, options?, idempotencyKey? }`. */
export type SessionQuestionRequest = Schemas["SessionQuestionRequest"];
/** `GET /v1/sessions/:id`: the session and its questions, oldest first. */
export type SessionView = Schemas["SessionView"];
/** The 201 of `POST /v1/sessions`. */
export type SessionCreated = Schemas["SessionCreated"];
/** One question of a session: its analysis, status and (once ended) answer. */
export type SessionQuestion = Schemas["SessionQuestion"];
/** The 202 of `POST /v1/sessions/:id/analyses`. */
export type SessionQuestionAccepted = Schemas["SessionQuestionAccepted"];
/** One analysis of a list: its state, not its result. */
export type AnalysisSummary = Schemas["AnalysisSummary"];
/** A page of `GET /v1/analyses`: `{ data, nextCursor? }`. */
export type AnalysisList = Schemas["AnalysisList"];
/** Where an analysis's end is POSTed, signed (`webhook` of a request). */
export type Webhook = Schemas["Webhook"];
/** `{ error: { code, message, retryable? } }`. */
export type ErrorBody = Schemas["ErrorBody"];
/** The `/health` body. */
export type HealthBody = Schemas["HealthBody"];

/** Statuses after which an analysis changes no more. */
export const TERMINAL_STATUSES: readonly AnalysisStatus[] = ["completed", "failed", "cancelled"];

/** True for the events after which the stream ends (`completed`, `failed`, `cancelled`). */
export function isTerminalEvent(event: AnalysisEvent): boolean {
  return event.type === "completed" || event.type === "failed" || event.type === "cancelled";
}
