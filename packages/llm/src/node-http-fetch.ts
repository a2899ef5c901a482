import http from "node:http";
import https from "node:https";
import type { GateRelease } from "@rlm/core";
import { BufferedResponse } from "./buffered-response.js";
import { gateOf } from "./gated-fetch-init.js";
import type { Fetch } from "./normalize-error-body.js";
import { StreamedJsonBody } from "./streamed-json-body.js";

/** Where a URL points, parsed once per distinct URL (a client calls very few). */
interface Target {
  transport: typeof http | typeof https;
  agent: http.Agent;
  hostname: string;
  port: string;
  path: string;
  /** The Host header: host and non-default port, IPv6 in brackets. */
  host: string;
}

const MAX_CACHED_TARGETS = 64;

/**
 * Keep-alive agents shared by every fetch made here, so every model client of the process
 * draws on one pool of open connections.
 *
 * Why: an `Rlm` (or a worker) made per analysis would otherwise start with no open
 * connection, and its first fan-out would open one TCP connection per call in flight
 * (50 connects, on both sides, in the middle of the wave).
 */
let sharedAgents: { "http:": http.Agent; "https:": https.Agent } | undefined;

/**
 * A small `fetch` on node:http(s) with keep-alive agents, for the openai SDK.
 *
 * Why: measured on this project's machine, undici's `fetch` costs about 0.5 ms more main-
 * thread CPU per request than node:http (1.6 vs 1.1 ms per chat completion through the
 * SDK). A fan-out of hundreds of sub-calls pays that before its requests leave, which
 * delays the whole wave. For the same reason the response is a {@link BufferedResponse}
 * (no web stream), the headers go to node as one list (no per-header `setHeader`), and a
 * URL is parsed once. Only what the SDK needs for non-streaming calls: the response body
 * is read whole; compression is not requested (`accept-encoding: identity`). Idle
 * keep-alive sockets do not keep the process alive; they are pooled per process (see
 * `sharedAgents`).
 *
 * When `init` carries a gate ({@link withGate}), the request is prepared first, the slot
 * is acquired just before it is written, and it is released once the response body has
 * arrived, before the Response is handed back: the next waiting request goes out before
 * this answer is parsed. It is released exactly once on every other path too (errors,
 * aborts). An abort while waiting rejects at once, as fetch does.
 */
export function createNodeHttpFetch(): Fetch {
  const agents = (sharedAgents ??= {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  });
  const targets = new Map<string, Target>();
  const targetOf = (href: string): Target => {
    let target = targets.get(href);
    if (target) return target;
    const url = new URL(href);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
    }
    target = {
      transport: url.protocol === "https:" ? https : http,
      agent: agents[url.protocol],
      // node wants IPv6 literals without their brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port,
      path: `${url.pathname}${url.search}`,
      host: url.host,
    };
    if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
    targets.set(href, target);
    return target;
  };

  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init?.signal ?? undefined;
      const href =
        typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      let target: Target;
      try {
        target = targetOf(href);
      } catch (error) {
        reject(error);
        return;
      }
      let body: RequestBody | undefined;
      let options: http.RequestOptions;
      try {
        body = requestBody(init?.body);
        options = {
          method: init?.method ?? "GET",
          hostname: target.hostname,
          port: target.port,
          path: target.path,
          headers: headerList(init?.headers, target.host, body),
          agent: target.agent,
          ...(signal ? { signal } : {}),
        };
      } catch (error) {
        reject(error);
        return;
      }
      const gate = gateOf(init);
      const gated = gate !== undefined;
      const send = (held: GateRelease) => {
        // Several events below may end the exchange; the slot goes back on the first.
        let holding = true;
        const release = () => {
          if (!holding) return;
          holding = false;
          held();
        };
        let request: http.ClientRequest;
        try {
          request = target.transport.request(options, onResponse);
        } catch (error) {
          release();
          reject(error);
          return;
        }
        function onResponse(response: http.IncomingMessage) {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => {
            release();
            reject(fetchFailed(error));
          });
          response.on("end", () => {
            // First: the next waiter's request is written before this answer is parsed.
            release();
            const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const buffered = new BufferedResponse(
              href,
              response.statusCode ?? 502,
              response.statusMessage ?? "",
              response.headers,
              bytes,
            );
            // Structurally the part of Response the SDK reads; see BufferedResponse.
            if (gated) {
              // Parsed in a later phase of the event loop: the request that got the freed
              // slot is written (in this tick) before this answer is parsed and handled.
              setImmediate(resolve, buffered as unknown as Response);
            } else {
              resolve(buffered as unknown as Response);
            }
          });
        }
        request.on("error", (error) => {
          release();
          // An abort rejects as fetch does (AbortError), anything else as "fetch failed"
          // with the cause, which is how the SDK tells connection errors apart.
          if (signal?.aborted) reject(signal.reason ?? error);
          else reject(fetchFailed(error));
        });
        // Whatever else happens to the exchange (an abort mid-body, a socket destroyed
        // without an error), the slot is back once the request is done with.
        request.on("close", release);
        writeBody(request, body);
      };

      if (gate === undefined) {
        send(noRelease);
        return;
      }
      gate.acquire(signal).then(
        (release) => {
          if (signal?.aborted) {
            release();
            // An aborted signal always has a reason (an AbortError when none was given).
            reject(signal.reason);
          } else {
            send(release);
          }
        },
        (error: unknown) => reject(error),
      );
    });
}

const noRelease: GateRelease = () => {};

/**
 * The request headers as node's flat `[name, value, …]` list, names lower-cased and
 * unique, with Host, `accept-encoding: identity` and the body's length.
 */
function headerList(
  init: RequestInit["headers"],
  host: string,
  body: RequestBody | undefined,
): string[] {
  const byName = new Map<string, string>();
  const add = (value: string, name: string) => {
    const key = name.toLowerCase();
    const previous = byName.get(key);
    byName.set(key, previous === undefined ? value : `${previous}, ${value}`);
  };
  if (init instanceof Headers) init.forEach(add);
  else if (Array.isArray(init)) for (const [name, value] of init) add(String(value), String(name));
  else if (init) for (const [name, value] of Object.entries(init)) add(String(value), name);
  byName.delete("host");
  byName.delete("content-length");
  byName.set("accept-encoding", "identity");
  if (body !== undefined) {
    byName.set(
      "content-length",
      String(typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength),
    );
  }
  const list = ["host", host];
  for (const [name, value] of byName) list.push(name, value);
  return list;
}

/** What this fetch can send: text, bytes, or JSON produced piece by piece. */
type RequestBody = string | Buffer | StreamedJsonBody;

function requestBody(body: RequestInit["body"] | undefined): RequestBody | undefined {
  if (body === undefined || body === null) return undefined;
  // A string goes to the socket as is: no UTF-8 copy of a large prompt here.
  if (typeof body === "string") return body;
  if (body instanceof StreamedJsonBody) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("createNodeHttpFetch sends string, byte or StreamedJsonBody bodies only");
}

/**
 * Ends the request with its body. A {@link StreamedJsonBody} is written piece by piece,
 * each once the socket has taken the previous ones (`drain`), so only a window or two of
 * a large prompt is in memory at a time; writing stops if the request is destroyed.
 */
function writeBody(request: http.ClientRequest, body: RequestBody | undefined): void {
  if (!(body instanceof StreamedJsonBody)) {
    request.end(body);
    return;
  }
  const pieces = body.pieces();
  const pump = () => {
    while (!request.destroyed) {
      const next = pieces.next();
      if (next.done) {
        request.end();
        return;
      }
      if (!request.write(next.value)) {
        request.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}
