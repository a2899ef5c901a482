import type { ClientOptions } from "openai";
import type { Dispatcher } from "undici";
import { FetchHandler } from "./fetch-handler.js";

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
   * Called once the whole answer (not an event stream) has arrived, before the `Response`
   * is handed over: what this call lets go (a slot of a gate, say) can be taken by the next
   * request while the SDK reads this answer.
   */
  onAnswered?(): void;
  /** Called once, when the request's body has started going out (its first bytes written). */
  onSent?(): void;
}

/** `fetchOptions` of a request that carries {@link FetchHooks}. */
export type FetchOptionsWithHooks = { [FETCH_HOOKS]: FetchHooks };

/**
 * A `fetch` for the openai SDK (its `fetch` option) on undici: the SDK builds the request
 * and reads the answer, undici speaks HTTP on the given dispatcher, and this maps one onto
 * the other through undici's `dispatch` and a handler (fetch-handler.ts).
 *
 * Why not `fetch` itself (Node's, or undici's with the same dispatcher): measured with 100
 * sub-call requests of 10 KB at C=50 here, a chat completion through the SDK cost ~380–420
 * µs of CPU over Node's fetch and ~470–590 over undici's (their web streams and spec
 * bookkeeping, which a JSON answer read whole does not need); undici's `request` API cost
 * ~100–120 alone and `dispatch` ~80 (no Readable stream per answer); plain node:http
 * ~130–150.
 *
 * A JSON (or any non-event-stream) answer is read whole before the `Response` is made,
 * so the SDK's timeout, which lasts until `fetch` resolves, covers the body too, and a
 * caller's {@link FetchHooks} (in the request's `fetchOptions`) learn when it has arrived.
 * An event stream (`stream: true`) is handed over as it arrives. An error answer (not 2xx)
 * whose message a compatible server put at the top level is rewritten into OpenAI's error
 * shape (`normalizeErrorBody`), so the SDK's error carries it. A caller's `onSent` learns
 * when the body's first bytes are written (undici's `onBodySent`). Aborting `init.signal`
 * rejects with its reason, at any point. Compression is not asked for (no
 * `accept-encoding`), so answers come as they are.
 */
export function undiciFetch(dispatcher: Dispatcher): SdkFetch {
  return (input, init = {}) => {
    if (typeof input !== "string" && !(input instanceof URL)) {
      return Promise.reject(new TypeError("this fetch takes a URL, not a Request"));
    }
    const url = typeof input === "string" ? new URL(input) : input;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    const hooks = (init as Partial<FetchOptionsWithHooks>)[FETCH_HOOKS];
    return new Promise<Response>((resolve, reject) => {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: (init.method ?? "GET") as Dispatcher.HttpMethod,
          headers: requestHeaders(init.headers),
          body: requestBody(init.body),
        },
        new FetchHandler(resolve, reject, signal, hooks),
      );
    });
  };
}

/** The SDK passes a `Headers`; a list of pairs or a record work too. */
function requestHeaders(headers: RequestInit["headers"]): Dispatcher.DispatchOptions["headers"] {
  if (headers === undefined) return undefined;
  // undici takes a flat [name, value, …] list, not pairs.
  if (Array.isArray(headers)) return headers.flat();
  return headers as Iterable<[string, string]>;
}

/** A string, bytes or a stream (a large prompt, see windowed-json-body.ts). */
function requestBody(body: RequestInit["body"]): Dispatcher.DispatchOptions["body"] {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  // An AsyncIterable, which undici's docs list as a body (its typings do not, yet).
  if (body instanceof ReadableStream) return body as unknown as Dispatcher.DispatchOptions["body"];
  throw new TypeError(`this fetch cannot send a body of type ${body.constructor.name}`);
}
