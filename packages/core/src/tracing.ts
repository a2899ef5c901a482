import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { TokenUsage } from "./model.js";

/**
 * The engine's spans, through `@opentelemetry/api` only: without an SDK registered by the
 * application every call here is the API's no-op (measured in BENCHMARKS.md: no figure
 * moves), and with one an analysis is a tree of these spans under whatever span was
 * active when it ran.
 */
export const SpanNames = {
  /** An analysis run to its end in this process (`AnalysisMachine.run`). */
  analysis: "rlm.analysis",
  /** A root model turn (its journal look-up, its model call, its journal write). */
  rootTurn: "rlm.root_turn",
  /** One code cell, with the sub-calls it started. */
  cell: "rlm.cell",
  /** One `recursiveLm` call, from the journal, an identical earlier call, or carried out. */
  subCall: "rlm.sub_call",
  /** A REPL built again by replaying its earlier cells (a lost isolate, a resumed run). */
  replRebuild: "rlm.repl_rebuild",
} as const;

/** Attribute names of the engine's spans (OpenTelemetry's `gen_ai.*` where one exists). */
export const SpanAttributes = {
  analysisId: "rlm.analysis.id",
  depth: "rlm.depth",
  iteration: "rlm.iteration",
  turn: "rlm.turn",
  cellKey: "rlm.cell.key",
  cellBlock: "rlm.cell.block",
  subCalls: "rlm.cell.sub_calls",
  sandboxLost: "rlm.cell.sandbox_lost",
  subCallKey: "rlm.sub_call.key",
  subCallSource: "rlm.sub_call.source",
  nested: "rlm.sub_call.nested",
  contextChars: "rlm.sub_call.context_chars",
  replayed: "rlm.replayed",
  replayedCells: "rlm.repl.cells",
  costUsd: "rlm.cost_usd",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cachedInputTokens: "gen_ai.usage.cache_read.input_tokens",
} as const;

const tracer = trace.getTracer("@rlm/core");

/**
 * Runs `fn` in a new span, a child of `parent` (by default the active context), and
 * active while `fn` runs: spans started inside, here or in a model client, are its
 * children. An error thrown by `fn` marks the span failed and is thrown on; a
 * cancellation (code `cancelled`: the analysis was cancelled, stopped by a budget, or its
 * run gave its job up) only marks it `rlm.cancelled`.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = tracer.startSpan(name, { attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === "cancelled") {
      span.setAttribute("rlm.cancelled", true);
    } else failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with an error's (or an error record's) code and message. */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string") span.setAttribute("error.type", code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: typeof message === "string" ? message : String(error),
  });
}

/** Tokens and cost of the model calls behind a span (one model's, or several's). */
export function setUsageAttributes(
  span: Span,
  usage: TokenUsage,
  models: readonly string[] = [],
): void {
  if (!span.isRecording()) return;
  span.setAttributes({
    [SpanAttributes.inputTokens]: usage.inputTokens,
    [SpanAttributes.outputTokens]: usage.outputTokens,
    [SpanAttributes.cachedInputTokens]: usage.cachedInputTokens,
    ...(usage.costUsd === null ? {} : { [SpanAttributes.costUsd]: usage.costUsd }),
    ...(models.length === 1 ? { [SpanAttributes.responseModel]: models[0] } : {}),
  });
}
