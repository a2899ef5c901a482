import type { ChatMessage, ConcurrencyGate } from "@rlm/core";
import { APIError } from "openai";
import { exchange, type HttpTarget, httpTarget } from "./http-exchange.js";
import { normalizeErrorBody } from "./normalize-error-body.js";
import type { ResolvedOpenAIModelClientOptions } from "./openai-model-client-options.js";
import { StreamedJsonBody, wantsStreamedBody } from "./streamed-json-body.js";

/** Sent as User-Agent: who is calling, for the provider's logs. */
const USER_AGENT = `rlm-queue (node ${process.version})`;

/**
 * The `/chat/completions` endpoint of an OpenAI-compatible server, with everything that
 * is the same for every request prepared once: the URL, and the headers as node's flat
 * list (authorization, organization and project, the caller's default headers).
 */
export interface ChatEndpoint {
  target: HttpTarget;
  headers: readonly string[];
}

/** Prepares the endpoint of a client; options are already validated. */
export function chatEndpoint(options: ResolvedOpenAIModelClientOptions): ChatEndpoint {
  const url = new URL(options.baseURL);
  // `…/v1` and `…/v1/` both lead to `…/v1/chat/completions`; a query string is kept.
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/chat/completions`;
  const byName = new Map<string, string>([
    ["authorization", `Bearer ${options.apiKey}`],
    ["content-type", "application/json"],
    ["accept", "application/json"],
    ["user-agent", USER_AGENT],
  ]);
  if (options.organization) byName.set("openai-organization", options.organization);
  if (options.project) byName.set("openai-project", options.project);
  for (const [name, value] of Object.entries(options.defaultHeaders)) {
    byName.set(name.toLowerCase(), value);
  }
  // Never compressed: the answer is read whole and parsed at once.
  byName.set("accept-encoding", "identity");
  byName.delete("host");
  byName.delete("content-length");
  return { target: httpTarget(url.href), headers: [...byName].flat() };
}

/** What one chat completion sends: the request fields and the messages. */
export interface ChatCompletionCall {
  /** `model` and the optional limits, as the provider names them. */
  fields: Record<string, unknown>;
  messages: readonly ChatMessage[];
  signal: AbortSignal;
  gate?: ConcurrencyGate;
}

/**
 * Posts one chat completion and returns the parsed JSON body of a 2xx answer.
 *
 * Failures are thrown as the openai package's errors, so they are classified the same
 * whichever way the request went: a non-2xx answer as the `APIError` subclass for its
 * status (built by `APIError.generate`, with the provider's error body in OpenAI's shape,
 * see `normalizeErrorBody`); a body that is not JSON as a `SyntaxError`; a connection
 * failure as `TypeError("fetch failed")`; an abort with the signal's reason.
 */
export async function postChatCompletion(
  endpoint: ChatEndpoint,
  call: ChatCompletionCall,
): Promise<unknown> {
  const body = wantsStreamedBody(call.messages)
    ? // A large prompt goes out window by window instead of as one JSON string.
      StreamedJsonBody.chatCompletion(call.fields, call.messages)
    : JSON.stringify({
        ...call.fields,
        messages: call.messages.map(({ role, content }) => ({ role, content })),
      });
  const answer = await exchange(endpoint.target, {
    method: "POST",
    headers: endpoint.headers,
    body,
    signal: call.signal,
    ...(call.gate ? { gate: call.gate } : {}),
  });
  const text = answer.body.toString("utf8");
  if (answer.status >= 200 && answer.status < 300) return JSON.parse(text) as unknown;
  const normalized = normalizeErrorBody(text) ?? text;
  const json = parseJson(normalized);
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  // As the SDK does: the parsed body when it is JSON, else its text as the message.
  throw APIError.generate(
    answer.status,
    json as object | undefined,
    json === undefined ? text || undefined : undefined,
    headers,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
