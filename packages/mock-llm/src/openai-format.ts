/** Token estimate used for usage: one token per four characters, rounded up. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** OpenAI's usage object. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptChars: number, completion: string): Usage {
  const prompt = estimateTokens(promptChars);
  const completionTokens = estimateTokens(completion.length);
  return {
    prompt_tokens: prompt,
    completion_tokens: completionTokens,
    total_tokens: prompt + completionTokens,
  };
}

/** Identity shared by a completion and all chunks of its stream. */
export interface CompletionMeta {
  id: string;
  model: string;
  /** Unix seconds. */
  created: number;
}

/** A non-streaming `chat.completion` body. */
export function completionBody(meta: CompletionMeta, content: string, usage: Usage): object {
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage,
    system_fingerprint: "fp_mock",
  };
}

/**
 * The `chat.completion.chunk` bodies of a stream: the role, the content in pieces, the
 * finish reason, then (when asked with `stream_options.include_usage`) a usage chunk
 * with no choices, as OpenAI sends it.
 */
export function streamChunks(
  meta: CompletionMeta,
  content: string,
  usage: Usage | undefined,
  pieceChars = 64,
): object[] {
  const chunk = (choices: object[], extra: object = {}) => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: "fp_mock",
    choices,
    ...extra,
  });
  const delta = (value: object, finish: string | null = null) => ({
    index: 0,
    delta: value,
    logprobs: null,
    finish_reason: finish,
  });
  const chunks: object[] = [chunk([delta({ role: "assistant", content: "" })])];
  for (let at = 0; at < content.length; at += pieceChars) {
    chunks.push(chunk([delta({ content: content.slice(at, at + pieceChars) })]));
  }
  chunks.push(chunk([delta({}, "stop")]));
  if (usage) chunks.push(chunk([], { usage }));
  return chunks;
}

/** An OpenAI-style error body. */
export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): object {
  return { error: { message, type, param, code } };
}
