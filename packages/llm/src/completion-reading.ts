import type { ChatMessage, ModelDelta } from "@rlm/core";
import { estimateTokens, estimateTokensOfLength } from "./estimate-tokens.js";
import { ModelCallError } from "./model-call-error.js";

/** What one chat completion yields, before cost is applied. */
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

/** Where the answer came from, for error details and estimates. */
export interface CompletionSource {
  model: string;
  baseURL: string;
  attempts: number;
  messages: readonly ChatMessage[];
}

type ReadingFailure = "malformed_response" | "empty_response" | "provider_error";

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
  if (!isRecord(body)) {
    throw failure(
      source,
      "malformed_response",
      `the provider at ${source.baseURL} sent a body that is not a chat completion: ${preview(body)}`,
    );
  }
  // Some gateways report upstream failures as a 200 with an error object.
  if (isRecord(body.error) && !Array.isArray(body.choices)) {
    const message =
      typeof body.error.message === "string" ? body.error.message : preview(body.error);
    throw failure(
      source,
      "provider_error",
      `the provider sent an error with status 200: ${message}`,
    );
  }
  const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  if (!isRecord(message)) {
    throw failure(
      source,
      "malformed_response",
      `the provider at ${source.baseURL} sent a completion without choices[0].message: ${preview(body)}`,
    );
  }
  const content = message.content;
  if (content !== null && content !== undefined && typeof content !== "string") {
    throw failure(
      source,
      "malformed_response",
      `choices[0].message.content is not a string: ${preview(content)}`,
    );
  }
  return finishReading(source, {
    content: content ?? "",
    model: body.model,
    usage: body.usage,
    finishReason: isRecord(choice) ? choice.finish_reason : undefined,
    refusal: message.refusal,
  });
}

/**
 * Reads a streamed chat completion (the SDK's stream of `chat.completion.chunk`s): joins
 * the text of choice 0, calls `onDelta` for each piece of it, and takes usage from the
 * chunk that carries it (the last one, when `stream_options.include_usage` was asked).
 *
 * @throws ModelCallError as {@link readCompletion}, and `malformed_response` when a chunk
 *   is not a chat completion chunk or the stream ended before a `finish_reason` (cut off).
 */
export async function readCompletionStream(
  chunks: AsyncIterable<unknown>,
  source: CompletionSource,
  onDelta: ((delta: ModelDelta) => void) | undefined,
): Promise<CompletionReading> {
  const parts: string[] = [];
  let receivedChars = 0;
  let model: unknown;
  let usage: unknown;
  let finishReason: unknown;
  let refusal = "";
  for await (const chunk of chunks) {
    if (!isRecord(chunk) || !Array.isArray(chunk.choices)) {
      throw failure(
        source,
        "malformed_response",
        `the provider at ${source.baseURL} streamed a chunk that is not a chat completion chunk: ${preview(chunk)}`,
      );
    }
    if (typeof chunk.model === "string" && chunk.model !== "") model = chunk.model;
    if (isRecord(chunk.usage)) usage = chunk.usage;
    const choice: unknown = chunk.choices[0];
    if (!isRecord(choice)) continue;
    if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason;
    const delta = choice.delta;
    if (!isRecord(delta)) continue;
    if (typeof delta.refusal === "string") refusal += delta.refusal;
    if (typeof delta.content === "string" && delta.content !== "") {
      parts.push(delta.content);
      receivedChars += delta.content.length;
      onDelta?.({ text: delta.content, receivedChars });
    }
  }
  if (finishReason === undefined) {
    throw failure(
      source,
      "malformed_response",
      `the stream from ${source.baseURL} ended before the answer was complete (no finish_reason)`,
    );
  }
  return finishReading(source, {
    content: parts.join(""),
    model,
    usage,
    finishReason,
    refusal: refusal === "" ? undefined : refusal,
  });
}

/** The fields both readers end with, still unchecked. */
interface RawReading {
  content: string;
  model: unknown;
  usage: unknown;
  finishReason: unknown;
  refusal: unknown;
}

/** Fails an empty answer, else takes the reported usage or estimates it. */
function finishReading(source: CompletionSource, raw: RawReading): CompletionReading {
  const { content } = raw;
  if (content.trim() === "") {
    const refusal = typeof raw.refusal === "string" ? `; refusal: ${raw.refusal}` : "";
    // finish_reason "length" with no text usually means a reasoning model spent the whole
    // output budget thinking: saying so points at maxOutputTokens.
    throw failure(
      source,
      "empty_response",
      `the model returned no text (finish_reason: ${String(raw.finishReason ?? "none")}${refusal})`,
    );
  }
  const model = typeof raw.model === "string" && raw.model !== "" ? raw.model : source.model;
  const usage = isRecord(raw.usage) ? raw.usage : undefined;
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

function failure(source: CompletionSource, code: ReadingFailure, why: string): ModelCallError {
  return new ModelCallError(code, why, {
    model: source.model,
    attempts: source.attempts,
    retryable: true,
  });
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
