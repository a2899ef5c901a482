import http from "node:http";
import https from "node:https";
import type { ConcurrencyGate, GateRelease } from "@rlm/core";
import { HTTP_TOKEN, Http1Connections } from "./http1-connections.js";
import { StreamedJsonBody } from "./streamed-json-body.js";
import { writePieces } from "./write-pieces.js";

/** Where requests go: parsed once per client. */
export interface HttpTarget {
  transport: typeof http | typeof https;
  agent: http.Agent;
  /** For `http:` targets: the process's keep-alive connections to the origin (not node:http). */
  connections?: Http1Connections;
  hostname: string;
  port: string;
  path: string;
  /** The Host header: host and non-default port, IPv6 in brackets. */
  host: string;
}

/** A whole answer: status, headers and body bytes. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request: method, headers as node's flat `[name, value, …]` list, body. */
export interface HttpRequest {
  method: string;
  /** Lower-case names, each once; Host and Content-Length are added here. */
  headers: readonly string[];
  body?: string | StreamedJsonBody;
  /** Aborting it rejects with its reason, while waiting for the gate or on the wire. */
  signal?: AbortSignal;
  /**
   * A slot the request holds while on the wire: acquired just before it is written,
   * released once the answer's body has arrived (and on every failure), so the next
   * waiting request goes out before this answer is parsed. If acquiring rejects, so
   * does the exchange, with that error as is.
   */
  gate?: ConcurrencyGate;
}

/**
 * Keep-alive agents shared by every client of the process, so they all draw on one pool
 * of open connections.
 *
 * Why: an `Rlm` (or a worker) made per analysis would otherwise start with no open
 * connection, and its first fan-out would open one TCP connection per call in flight
 * (50 connects, on both sides, in the middle of the wave).
 */
let sharedAgents: { "http:": http.Agent; "https:": https.Agent } | undefined;
/** The same for `http:` origins on {@link Http1Connections}, by `host:port`. */
const sharedConnections = new Map<string, Http1Connections>();

/**
 * Parses `url` once for {@link exchange}.
 *
 * @throws TypeError for a URL that is not http(s).
 */
export function httpTarget(url: string): HttpTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`unsupported protocol ${parsed.protocol} in ${url}`);
  }
  const agents = (sharedAgents ??= {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  });
  // node wants IPv6 literals without their brackets.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const target: HttpTarget = {
    transport: parsed.protocol === "https:" ? https : http,
    agent: agents[parsed.protocol],
    hostname,
    port: parsed.port,
    path: `${parsed.pathname}${parsed.search}`,
    host: parsed.host,
  };
  if (parsed.protocol === "http:") {
    const port = Number(parsed.port || 80);
    const origin = `${hostname}:${port}`;
    let connections = sharedConnections.get(origin);
    if (!connections) {
      connections = new Http1Connections(hostname, port);
      sharedConnections.set(origin, connections);
    }
    target.connections = connections;
  }
  return target;
}

/**
 * One HTTP exchange with the process's keep-alive connections: `http:` targets on
 * {@link Http1Connections}, `https:` on node:https and its shared agent. Resolves with the
 * whole answer whatever its status. A failure on the way (refused connection, reset,
 * DNS, an answer that cannot be read) rejects with `TypeError("fetch failed", { cause })`,
 * as `fetch` does; an abort with the signal's reason.
 *
 * Why not `fetch` and the openai SDK: measured here, a chat completion through the SDK
 * over undici's fetch cost about 1.6 ms of main-thread CPU, through the SDK over node:http
 * 0.25 ms, and this path 0.1 ms. A fan-out pays that per call before its requests leave,
 * in series: the SDK's share alone held the last request of a 50-call wave back by about
 * 8 ms. The request is prepared before the gate's slot is taken, the headers go to node as
 * one list, the body is read whole (no stream objects) and compression is not requested.
 */
export function exchange(target: HttpTarget, request: HttpRequest): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const { signal, gate, body } = request;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    // Encoded once here: its length is then known without a second pass over the text.
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    const start = (held: GateRelease) => {
      const end = attemptEnd(held, request, resolve, reject);
      if (target.connections) sendOnConnections(target, target.connections, request, bytes, end);
      else sendOnNode(target, request, bytes, end);
    };
    if (!gate) {
      start(noRelease);
      return;
    }
    gate.acquire(signal).then((release) => {
      if (signal?.aborted) {
        release();
        reject(signal.reason);
      } else {
        start(release);
      }
    }, reject);
  });
}

/** How one attempt ends, see {@link attemptEnd}. */
type AttemptEnd = ReturnType<typeof attemptEnd>;

/** http: the process's own keep-alive connections. */
function sendOnConnections(
  target: HttpTarget,
  connections: Http1Connections,
  request: HttpRequest,
  bytes: Buffer | StreamedJsonBody | undefined,
  end: AttemptEnd,
): void {
  let sent: ReturnType<Http1Connections["send"]>;
  try {
    sent = connections.send(
      requestHead(target, request.method, request.headers, bytes?.byteLength),
      bodyPieces(bytes),
      // First: the next waiter's request is written before this answer is parsed.
      end.release,
    );
  } catch (error) {
    end.fail(error);
    return;
  }
  end.onAbort(sent.abort);
  sent.answer.then(end.succeed, end.fail);
}

/** https: node's client with the shared agent. */
function sendOnNode(
  target: HttpTarget,
  request: HttpRequest,
  bytes: Buffer | StreamedJsonBody | undefined,
  end: AttemptEnd,
): void {
  const headers = ["host", target.host, ...request.headers];
  if (bytes !== undefined) headers.push("content-length", String(bytes.byteLength));
  const options: http.RequestOptions = {
    method: request.method,
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    headers,
    agent: target.agent,
  };
  let outgoing: http.ClientRequest;
  try {
    outgoing = target.transport.request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", end.fail);
      response.on("aborted", () => end.fail(new Error("the connection closed mid-answer")));
      response.on("end", () => {
        end.succeed({
          status: response.statusCode ?? 502,
          headers: response.headers,
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        });
      });
    });
  } catch (error) {
    end.fail(error);
    return;
  }
  end.onAbort(() => outgoing.destroy());
  outgoing.on("error", end.fail);
  // Whatever else ends the exchange (a socket destroyed without an error, say), the
  // slot is back and the promise settled once the request is done with.
  outgoing.on("close", () => end.fail(new Error("the connection closed before an answer")));
  writeBody(outgoing, bytes);
}

const noRelease: GateRelease = () => {};

/**
 * The ways one attempt ends, for either transport: the gate's slot goes back on the first
 * of them, exactly once; the exchange's promise settles once; an abort (one listener of
 * our own, not node's `signal` option, which adds several) stops the transport with the
 * function given to `onAbort` and rejects with the signal's reason.
 */
function attemptEnd(
  held: GateRelease,
  request: HttpRequest,
  resolve: (answer: HttpAnswer) => void,
  reject: (reason: unknown) => void,
): {
  release: () => void;
  succeed: (answer: HttpAnswer) => void;
  fail: (error: unknown) => void;
  onAbort: (stop: () => void) => void;
} {
  const { signal, gate } = request;
  let holding = true;
  const release = () => {
    if (!holding) return;
    holding = false;
    held();
  };
  let settled = false;
  let stop = () => {};
  const onAbort = () => {
    stop();
    fail(signal?.reason);
  };
  const settle = () => {
    release();
    if (settled) return false;
    settled = true;
    signal?.removeEventListener("abort", onAbort);
    return true;
  };
  const fail = (error: unknown) => {
    // An abort rejects with its reason, anything else as "fetch failed" with the cause,
    // which is how connection failures are told apart from answers.
    if (settle()) reject(signal?.aborted ? signal.reason : fetchFailed(error));
  };
  const succeed = (answer: HttpAnswer) => {
    if (!settle()) return;
    // Handled in a later phase of the event loop when gated: the request that got the
    // freed slot is written (in this tick) before this answer is parsed.
    if (gate) setImmediate(resolve, answer);
    else resolve(answer);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return {
    release,
    succeed,
    fail,
    onAbort: (stopTransport) => {
      stop = stopTransport;
    },
  };
}

/**
 * Request heads without their Content-Length, by the header list they were made from (a
 * client's list, the same for all its requests) and then by target and method.
 */
const heads = new WeakMap<readonly string[], Map<string, string>>();

/**
 * The request line and headers of an HTTP/1.1 request: Host, `headers` (node's flat
 * list), then Content-Length when there is a body. All but the Content-Length is the same
 * for every request of a client, so it is made once.
 *
 * @throws TypeError for a header name or value node would refuse (not a token; a control
 * character or one beyond Latin-1 in the value).
 */
function requestHead(
  target: HttpTarget,
  method: string,
  headers: readonly string[],
  contentLength: number | undefined,
): string {
  let byTarget = heads.get(headers);
  if (!byTarget) {
    byTarget = new Map();
    heads.set(headers, byTarget);
  }
  const key = `${method} ${target.host}${target.path}`;
  let head = byTarget.get(key);
  if (head === undefined) {
    const lines = [`${method} ${target.path} HTTP/1.1`, `host: ${target.host}`];
    for (let index = 0; index < headers.length; index += 2) {
      const name = headers[index]!;
      const value = headers[index + 1] ?? "";
      if (!HTTP_TOKEN.test(name)) {
        throw new TypeError(`invalid HTTP header name ${JSON.stringify(name)}`);
      }
      // As node: tab, printable ASCII and Latin-1 only (the head is written as Latin-1).
      if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
        throw new TypeError(`invalid value of HTTP header ${name}`);
      }
      lines.push(`${name}: ${value}`);
    }
    head = lines.join("\r\n");
    byTarget.set(key, head);
  }
  return contentLength === undefined
    ? `${head}\r\n\r\n`
    : `${head}\r\ncontent-length: ${contentLength}\r\n\r\n`;
}

/** A body as the pieces the connection writes, one after another. */
function bodyPieces(
  body: Buffer | StreamedJsonBody | undefined,
): Iterable<string | Uint8Array> | undefined {
  if (body === undefined) return undefined;
  return body instanceof StreamedJsonBody ? { [Symbol.iterator]: () => body.pieces() } : [body];
}

/**
 * Ends the request with its body; a {@link StreamedJsonBody} piece by piece (see
 * `writePieces`), until the request is destroyed. A piece that cannot be produced
 * destroys the request with its error, which ends the exchange as `fetch failed`.
 */
function writeBody(request: http.ClientRequest, body: Buffer | StreamedJsonBody | undefined) {
  if (!(body instanceof StreamedJsonBody)) {
    request.end(body);
    return;
  }
  writePieces(request, body.pieces(), {
    stopped: () => request.destroyed,
    done: () => request.end(),
    failed: (error) => request.destroy(error),
  });
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}
