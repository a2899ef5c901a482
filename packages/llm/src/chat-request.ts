import type { ModelRequest } from "@rlm/core";
import type OpenAI from "openai";
import type { ResolvedOpenAIModelClientOptions } from "./openai-model-client-options.js";
import { WindowedJsonBody, wantsWindowedBody } from "./windowed-json-body.js";

type CreateParams = OpenAI.Chat.Completions.ChatCompletionCreateParams;

/** The JSON body of a call: its bytes, or a large one's windows (windowed-json-body.ts). */
export type ChatBody = Uint8Array | WindowedJsonBody;

/** What one attempt hands to `chat.completions.create`. */
export interface ChatCall {
  /** The parameters, which the SDK reads (`stream` says how to read the answer). */
  params: CreateParams;
  /**
   * The same parameters as JSON, given to the SDK as the request's `body` option in place
   * of its own `JSON.stringify`, with the headers such a body needs.
   *
   * Why: the SDK keeps the JSON text it makes (a string) until the answer has arrived;
   * the prompts of a fan-out's calls in flight then survive every young-generation
   * collection meanwhile, and in a profile of the in-process fan-out those collections
   * took 3–15 ms in the middle of a wave's dispatch. Encoded here once per call, the text
   * is garbage at once and the bytes live outside the heap; a retry sends them again. A
   * large prompt is never encoded whole: its windows are.
   */
  body: ChatBody;
  headers: Readonly<Record<string, string>>;
}

/**
 * The chat completion parameters of `request`: model, messages (role and content only:
 * `contentParts` is ours), the output limit under the name the provider wants, the
 * temperature, `response_format`, and for a streamed call `stream` with usage asked for;
 * and their JSON. Made once per call; every attempt sends the same.
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
  if (wantsWindowedBody(request.messages)) {
    const body = WindowedJsonBody.chatCompletion(fields, request.messages);
    // Sent as a stream: its length is said here.
    return {
      params,
      body,
      headers: { ...JSON_HEADERS, "content-length": String(body.byteLength) },
    };
  }
  return { params, body: Buffer.from(JSON.stringify(params), "utf8"), headers: JSON_HEADERS };
}

/** A fresh pass over `body` for one attempt: the bytes, or a new pass over the windows. */
export function attemptBody(body: ChatBody): Uint8Array | Generator<Uint8Array, void, undefined> {
  return body instanceof WindowedJsonBody ? body.bytes() : body;
}

/** What the SDK would have said of its own JSON body. */
const JSON_HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json" };
