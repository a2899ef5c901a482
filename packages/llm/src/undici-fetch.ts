import type { IncomingHttpHeaders } from "node:http";
import type { ClientOptions } from "openai";
import { type Dispatcher, request } from "undici";
import { normalizeErrorBody } from "./normalize-error-body.js";
import { readResponse } from "./read-response.js";

/** The `fetch` option of the openai SDK. */
export type SdkFetch = NonNullable<ClientOptions["fetch"]>;

/**
 * The key under which a request's {@link FetchHooks} travel in its `fetchOptions`, which
 * the SDK hands to `fetch` as part of `init`.
 */
export const FETCH_HOOKS = Symbol("rlm.fetchHooks");

/** What a caller of the SDK may ask this fetch to do for one request. */
export interface FetchHooks {
  /**
   * Called once the whole answer (not an event stream) has arrived, before anything of it
   * is read. The `Response` is then handed over in a later phase of the event loop, so
   * that what this call let go (a slot of a gate, say) is taken, and the next request
   * written, before this answer is parsed.
   */
  onAnswered(): void;
}

/** `fetchOptions` of a request that carries {@link FetchHooks}. */
export type FetchOptionsWithHooks = { [FETCH_HOOKS]: FetchHooks };

/** Statuses whose response has no body (a `Response` with one cannot be built). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the openai SDK (its `fetch` option) made on undici's `request` API with
 * the given dispatcher: the SDK builds the request and reads the answer, undici speaks
 * HTTP, and this only maps one onto the other.
 *
 * Why not `fetch` itself (Node's, or undici's with the same dispatcher): measured with
 * `bench/diagnostics/client-burst.ts` here (50 sub-call requests of 10 KB at once), a
 * chat completion through the SDK cost ~380–420 µs of CPU over Node's fetch and
 * ~470–590 over undici's, ~250–280 over this; plain node:http ~180–210. A fan-out pays
 * that per call, in series, before its last request leaves. fetch's cost is its web
 * streams and spec bookkeeping, which a JSON answer read whole does not need.
 *
 * A JSON (or any non-event-stream) answer is read whole before the `Response` is made,
 * so the SDK's timeout, which lasts until `fetch` resolves, covers the body too, and a
 * caller's {@link FetchHooks} (in the request's `fetchOptions`) learn when it has arrived. An event
 * stream (`stream: true`) is handed over as it arrives. An error answer (not 2xx) whose
 * message a compatible server put at the top level is rewritten into OpenAI's error
 * shape (`normalizeErrorBody`), so the SDK's error carries it. Aborting `init.signal`
 * rejects with an `AbortError`, at any point.
 */
export function undiciFetch(dispatcher: Dispatcher): SdkFetch {
  return async (input, init = {}) => {
    if (typeof input !== "string" && !(input instanceof URL)) {
      throw new TypeError("this fetch takes a URL, not a Request");
    }
    const answer = await request(input, {
      method: (init.method ?? "GET") as Dispatcher.HttpMethod,
      headers: requestHeaders(init.headers),
      body: requestBody(init.body),
      signal: init.signal ?? undefined,
      dispatcher,
    });
    const status = answer.statusCode;
    const headers = responseHeaders(answer.headers);
    if (NULL_BODY_STATUSES.has(status)) {
      await answer.body.dump();
      return new Response(null, { status, headers });
    }
    const contentType = answer.headers["content-type"];
    if (typeof contentType === "string" && contentType.startsWith("text/event-stream")) {
      return new Response(answer.body, { status, headers });
    }
    const bytes = await answer.body.bytes();
    const hooks = (init as Partial<FetchOptionsWithHooks>)[FETCH_HOOKS];
    if (hooks) {
      hooks.onAnswered();
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (status >= 200 && status < 300) return readResponse(bytes, { status, headers });
    const normalized = normalizeErrorBody(Buffer.from(bytes).toString("utf8"));
    return readResponse(normalized === undefined ? bytes : Buffer.from(normalized), {
      status,
      headers,
    });
  };
}

/** The SDK passes a `Headers`; a list of pairs or a record work too. */
function requestHeaders(headers: RequestInit["headers"]): Dispatcher.RequestOptions["headers"] {
  if (headers === undefined) return undefined;
  // undici takes a flat [name, value, …] list, not pairs.
  if (Array.isArray(headers)) return headers.flat();
  return headers as Iterable<[string, string]>;
}

/** A string, bytes or a stream (a large prompt, see windowed-json-body.ts). */
function requestBody(body: RequestInit["body"]): Dispatcher.RequestOptions["body"] {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  // An AsyncIterable, which undici's docs list as a body (its typings do not, yet).
  if (body instanceof ReadableStream) return body as unknown as Dispatcher.RequestOptions["body"];
  throw new TypeError(`this fetch cannot send a body of type ${body.constructor.name}`);
}

function responseHeaders(headers: IncomingHttpHeaders): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") list.push([name, value]);
    else if (Array.isArray(value)) for (const item of value) list.push([name, item]);
  }
  return list;
}
