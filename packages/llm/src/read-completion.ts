import type { ChatMessage } from "@rlm/core";
import { estimateTokens, estimateTokensOfLength } from "./estimate-tokens.js";
import { ModelCallError } from "./model-call-error.js";

/** What one chat completion body yields, before cost is applied. */
export interface CompletionReading {
  content: string;
  /** The model the provider reported, or the requested one when it reported none. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** True when the provider sent no usage and the token counts are estimates. */
  usageEstimated: boolean;
}

/** Where the body came from, for error details. */
export interface CompletionSource {
  model: string;
  baseURL: string;
  attempts: number;
  messages: readonly ChatMessage[];
}

/**
 * Validates a non-streaming chat completion body and extracts its text and usage.
 *
 * The openai SDK returns whatever the server sent (a string for a non-JSON content type,
 * any JSON value otherwise), so nothing here trusts the declared type.
 *
 * @throws ModelCallError `malformed_response` when the body is not a chat completion,
 *   `provider_error` when it is an error object sent with status 200, `empty_response` when
 *   the completion has no text. All three are retryable.
 */
export function readCompletion(body: unknown, source: CompletionSource): CompletionReading {
  const fail = (code: "malformed_response" | "empty_response" | "provider_error", why: string) =>
    new ModelCallError(code, why, {
      model: source.model,
      attempts: source.attempts,
      retryable: true,
    });

  if (!isRecord(body)) {
    throw fail(
      "malformed_response",
      `the provider at ${source.baseURL} sent a body that is not a chat completion: ${preview(body)}`,
    );
  }
  // Some gateways report upstream failures as a 200 with an error object.
  if (isRecord(body.error) && !Array.isArray(body.choices)) {
    const message =
      typeof body.error.message === "string" ? body.error.message : preview(body.error);
    throw fail("provider_error", `the provider sent an error with status 200: ${message}`);
  }
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  if (!isRecord(message)) {
    throw fail(
      "malformed_response",
      `the provider at ${source.baseURL} sent a completion without choices[0].message: ${preview(body)}`,
    );
  }
  const content = message.content;
  if (content !== null && content !== undefined && typeof content !== "string") {
    throw fail(
      "malformed_response",
      `choices[0].message.content is not a string: ${preview(content)}`,
    );
  }
  if (content === null || content === undefined || content.trim() === "") {
    const finishReason = isRecord(choice) ? choice.finish_reason : undefined;
    const refusal = typeof message.refusal === "string" ? `; refusal: ${message.refusal}` : "";
    // finish_reason "length" with no text usually means a reasoning model spent the whole
    // output budget thinking: saying so points at maxOutputTokens.
    throw fail(
      "empty_response",
      `the model returned no text (finish_reason: ${String(finishReason ?? "none")}${refusal})`,
    );
  }

  const model = typeof body.model === "string" && body.model !== "" ? body.model : source.model;
  const usage = isRecord(body.usage) ? body.usage : undefined;
  const inputTokens = usage?.prompt_tokens;
  const outputTokens = usage?.completion_tokens;
  if (isCount(inputTokens) && isCount(outputTokens)) {
    const details = usage?.prompt_tokens_details;
    const cached = isRecord(details) ? details.cached_tokens : undefined;
    return {
      content,
      model,
      inputTokens,
      outputTokens,
      cachedInputTokens: isCount(cached) ? cached : 0,
      usageEstimated: false,
    };
  }
  // Summed lengths, not a joined copy: a sub-call prompt may hold a 10 MB chunk.
  let promptChars = 0;
  for (const chatMessage of source.messages) promptChars += chatMessage.content.length;
  return {
    content,
    model,
    inputTokens: estimateTokensOfLength(promptChars),
    outputTokens: estimateTokens(content),
    cachedInputTokens: 0,
    usageEstimated: true,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function preview(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
