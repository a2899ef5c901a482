import type { RlmResult } from "@rlm/core";
import type { AnalysisView } from "@rlm/queue";
import { OpenAiError } from "./openai-errors.js";

/** The model name of the OpenAI-compatible routes. */
export const RLM_MODEL = "rlm";

/**
 * What a model name asks for: `"rlm"` the workers' root model, `"rlm/<root-model>"` that
 * root model. Anything else is OpenAI's 404 `model_not_found`.
 */
export function modelOptions(model: string): { rootModel?: string } {
  if (model === RLM_MODEL) return {};
  const rootModel = model.startsWith(`${RLM_MODEL}/`) ? model.slice(RLM_MODEL.length + 1) : "";
  if (rootModel.trim() !== "") return { rootModel };
  throw new OpenAiError(
    404,
    "invalid_request_error",
    "model_not_found",
    `The model '${model.slice(0, 200)}' does not exist here: use "rlm", or "rlm/<root-model>" ` +
      "to choose the root model",
    "model",
  );
}

/** What every completion and chunk of one analysis shares. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** A completion's identity from its analysis: `chatcmpl-<analysis id>`, enqueued at. */
export function completionIdentity(analysisId: string, createdAt: number, model: string) {
  return { id: `chatcmpl-${analysisId}`, created: Math.floor(createdAt / 1000), model };
}

/** OpenAI's usage from the analysis's: every root turn and sub-call of it. */
export function usageOf(result: RlmResult) {
  const { inputTokens, outputTokens, cachedInputTokens } = result.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cachedInputTokens },
  };
}

/** `length` when a budget ended the analysis (its answer may be partial), else `stop`. */
export function finishReasonOf(result: RlmResult): "stop" | "length" {
  return result.finishReason === "budget" ? "length" : "stop";
}

/** The analysis behind a completion (the `rlm` extension field). */
export function rlmExtension(analysisId: string, result: RlmResult) {
  return {
    analysis_id: analysisId,
    finish_reason: result.finishReason,
    iterations: result.iterations,
    cost_usd: result.usage.costUsd,
  };
}

/**
 * The completed analysis's result, or the OpenAI error its end stands for: a failure is a
 * 500 with the analysis's error code (`x-should-retry` from its `retryable`), a cancel a
 * 409 not to be retried.
 */
export function completedResult(view: AnalysisView): RlmResult {
  if (view.status === "completed" && view.result) return view.result;
  if (view.status === "cancelled") {
    return fail(409, "invalid_request_error", "analysis_cancelled", view, "was cancelled", false);
  }
  const error = view.error ?? view.result?.error;
  return fail(
    500,
    "server_error",
    error?.code ?? "analysis_failed",
    view,
    `failed: ${error?.message ?? "no error recorded"}`,
    error?.retryable ?? false,
  );
}

function fail(
  status: number,
  type: string,
  code: string,
  view: AnalysisView,
  what: string,
  shouldRetry: boolean,
): never {
  throw new OpenAiError(status, type, code, `analysis ${view.id} ${what}`, null, shouldRetry);
}

/** The body of a completion that does not stream. */
export function chatCompletion(
  identity: CompletionIdentity,
  analysisId: string,
  result: RlmResult,
) {
  return {
    ...identity,
    object: "chat.completion" as const,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: result.answer, refusal: null },
        finish_reason: finishReasonOf(result),
        logprobs: null,
      },
    ],
    usage: usageOf(result),
    rlm: rlmExtension(analysisId, result),
  };
}
