import type { ModelRequest } from "@rlm/core";
import type OpenAI from "openai";
import type { ResolvedOpenAIModelClientOptions } from "./openai-model-client-options.js";
import { WindowedJsonBody, wantsWindowedBody } from "./windowed-json-body.js";

type CreateParams = OpenAI.Chat.Completions.ChatCompletionCreateParams;

/** What one attempt hands to `chat.completions.create`: the parameters and request options. */
export interface ChatCall {
  params: CreateParams;
  /**
   * For a large prompt: the body as windows of JSON text and the headers it needs,
   * given to the SDK as request options in place of its own `JSON.stringify` of `params`
   * (see windowed-json-body.ts). The same text, never the whole of it in memory.
   */
  windowed?: { body: WindowedJsonBody; headers: Record<string, string> };
}

/**
 * The chat completion parameters of `request`: model, messages (role and content only:
 * `contentParts` is ours), the output limit under the name the provider wants, the
 * temperature, `response_format`, and for a streamed call `stream` with usage asked for.
 * Made once per call; every attempt sends the same.
 */
export function chatCallOf(
  request: ModelRequest,
  options: Pick<ResolvedOpenAIModelClientOptions, "maxTokensField">,
  stream: boolean,
): ChatCall {
  const fields: Record<string, unknown> = { model: request.model };
  if (request.maxOutputTokens !== undefined) {
    fields[options.maxTokensField] = request.maxOutputTokens;
  }
  if (request.temperature !== undefined) fields.temperature = request.temperature;
  if (request.responseFormat !== undefined) fields.response_format = request.responseFormat;
  if (stream) {
    fields.stream = true;
    fields.stream_options = { include_usage: true };
  }
  const params = {
    ...fields,
    messages: request.messages.map(({ role, content }) => ({ role, content })),
  } as CreateParams;
  if (!wantsWindowedBody(request.messages)) return { params };
  const body = WindowedJsonBody.chatCompletion(fields, request.messages);
  return {
    params,
    windowed: {
      body,
      headers: { "content-type": "application/json", "content-length": String(body.byteLength) },
    },
  };
}
