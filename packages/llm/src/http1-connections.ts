import type { IncomingHttpHeaders } from "node:http";
import net from "node:net";
import { writePieces } from "./write-pieces.js";

/**
 * Keep-alive HTTP/1.1 connections to plain-`http:` origins, on `net` sockets, one
 * exchange at a time per connection: the transport of `exchange` (http-exchange.ts) for
 * `http:` base URLs (a local vLLM or Ollama, the mock).
 *
 * Why not `node:http` there: measured here, its client costs 445–490 µs of CPU per chat
 * completion of 10 KB (request and answer objects, streams, the agent's bookkeeping), this
 * one 308–335 µs (`bench/diagnostics/client-burst.ts`), and a fan-out pays that in series
 * on one thread: figure 1's in-process fan-out went from 1065–1076 ms to 1060–1063
 * (medians of 12 runs, alternately, `bench/diagnostics/wave-timing.ts`). `https:` stays
 * on `node:https`, whose TLS and certificate handling this does not try to match.
 *
 * What it reads: a status line and headers (100–199 but 101 skipped as interim answers),
 * then a body framed by `Transfer-Encoding: chunked`, by `Content-Length`, or by the end
 * of the connection. Anything it cannot read ends the exchange with an error and the
 * connection with it. A connection is reused only after a whole answer that did not ask
 * to close it, with the whole request written and nothing left over.
 */
export class Http1Connections {
  readonly #host: string;
  readonly #port: number;
  /** Idle connections, the most recently used last (taken first, as node's agent does). */
  readonly #idle: Http1Connection[] = [];

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  /**
   * Sends one request (`head`, then the body pieces) on an idle connection or a new one
   * and resolves with the whole answer. `onAnswered` runs once the body has arrived,
   * before anything of it is parsed (the connection is back in the pool by then).
   * Rejects with the socket's error or a parse error. `abort()` of the returned handle
   * destroys the connection while this exchange is on it, and does nothing after.
   */
  send(
    head: string,
    body: Iterable<string | Uint8Array> | undefined,
    onAnswered: () => void,
  ): { answer: Promise<Http1Answer>; abort: () => void } {
    let connection = this.#idle.pop();
    while (connection?.closed) connection = this.#idle.pop();
    const used = connection ?? new Http1Connection(this.#host, this.#port);
    let done = false;
    const answer = used.exchange(head, body, () => {
      done = true;
      // Parked before the slot is released: the next request finds this connection.
      if (used.reusable && this.#idle.length < MAX_IDLE) {
        used.park(() => this.#forget(used));
        this.#idle.push(used);
      } else {
        used.destroy();
      }
      onAnswered();
    });
    answer.catch(() => {
      done = true;
    });
    return {
      answer,
      abort: () => {
        if (!done) used.destroy();
      },
    };
  }

  #forget(connection: Http1Connection): void {
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
  }
}

/** A whole answer as read off the connection. */
export interface Http1Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Idle connections are closed after this long (or sooner when the server's `Keep-Alive:
 * timeout=N` says so), before a server's own keep-alive timeout (node's default is 5 s)
 * closes them under a request that is just being written.
 */
const IDLE_MS = 4_000;
/** Idle connections kept per origin at most (node's agent: 256). */
const MAX_IDLE = 256;
/** The most bytes a status line and headers (or a chunked answer's trailer) may take. */
const MAX_HEAD_BYTES = 64 * 1024;

const CRLF_CRLF = Buffer.from("\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");
/** An HTTP token (RFC 9110): what a header name may be. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers node keeps the first of when an answer repeats them (see `IncomingMessage`). */
const FIRST_ONLY = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

type Framing =
  | { kind: "length"; left: number }
  | { kind: "chunked"; left: number; trailer: boolean; trailerBytes: number }
  | { kind: "close" };

interface Reading {
  status: number;
  headers: IncomingHttpHeaders;
  framing: Framing;
  parts: Buffer[];
  keepAlive: boolean;
  /** How long the server keeps the connection open when idle (`Keep-Alive: timeout`). */
  idleMs: number;
}

interface Exchange {
  resolve: (answer: Http1Answer) => void;
  reject: (error: Error) => void;
  /** Runs when the answer is whole, before it is delivered. */
  onWhole: () => void;
}

class Http1Connection {
  readonly #socket: net.Socket;
  #pending: Buffer = Buffer.alloc(0);
  #reading: Reading | undefined;
  #exchange: Exchange | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #onIdleClose: (() => void) | undefined;
  #closed = false;
  /** True while a request's body is still being written. */
  #writing = false;
  /** How long an idle wait may last, from the last answer's `Keep-Alive` hint. */
  #idleMs = IDLE_MS;
  /** True after a whole answer that leaves the connection open for the next request. */
  reusable = false;

  constructor(host: string, port: number) {
    this.#socket = net.connect({ host, port, noDelay: true });
    this.#socket.on("data", (data: Buffer) => this.#read(data));
    // The server's FIN: the end of a body framed by the connection, else of the exchange.
    this.#socket.on("end", () => this.#end(undefined));
    this.#socket.on("error", (error) => this.#end(error));
    this.#socket.on("close", () => this.#end(undefined));
  }

  get closed(): boolean {
    return this.#closed;
  }

  exchange(
    head: string,
    body: Iterable<string | Uint8Array> | undefined,
    onWhole: () => void,
  ): Promise<Http1Answer> {
    this.#unpark();
    this.reusable = false;
    return new Promise<Http1Answer>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error("the connection closed before the request was sent"));
        return;
      }
      this.#exchange = { resolve, reject, onWhole };
      this.#reading = undefined;
      this.#write(head, body);
    });
  }

  /** Waits idle, unref'd (an idle connection does not keep the process alive). */
  park(onClose: () => void): void {
    this.#onIdleClose = onClose;
    this.#socket.unref();
    this.#idleTimer = setTimeout(() => this.destroy(), this.#idleMs);
    this.#idleTimer.unref();
  }

  destroy(): void {
    this.#socket.destroy();
    this.#end(new Error("the connection was closed"));
  }

  #unpark(): void {
    clearTimeout(this.#idleTimer);
    this.#onIdleClose = undefined;
    this.#socket.ref();
  }

  #write(head: string, body: Iterable<string | Uint8Array> | undefined): void {
    const socket = this.#socket;
    socket.cork();
    socket.write(head, "latin1");
    if (body === undefined) {
      socket.uncork();
      return;
    }
    this.#writing = true;
    // A large prompt is produced window by window, see StreamedJsonBody.
    writePieces(socket, body[Symbol.iterator](), {
      stopped: () => this.#closed,
      done: () => {
        this.#writing = false;
      },
      failed: (error) => this.#fail(error),
    });
    socket.uncork();
  }

  #read(data: Buffer): void {
    if (this.#exchange === undefined) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      this.destroy();
      return;
    }
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    try {
      this.#advance();
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /** Reads as far as the bytes at hand go. */
  #advance(): void {
    for (;;) {
      if (this.#reading === undefined) {
        // Empty lines before a status line are skipped, as node does.
        while (this.#pending[0] === 13 && this.#pending[1] === 10) {
          this.#pending = this.#pending.subarray(2);
        }
        const headEnd = this.#pending.indexOf(CRLF_CRLF);
        if (headEnd < 0) {
          if (this.#pending.length > MAX_HEAD_BYTES) {
            throw new Error("the answer's head is too long");
          }
          if (this.#pending.includes("\n\n")) {
            throw new Error("the answer's head does not end its lines with CRLF");
          }
          return;
        }
        const head = this.#pending.subarray(0, headEnd).toString("latin1");
        this.#pending = this.#pending.subarray(headEnd + 4);
        const reading = readHead(head);
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        if (reading.status < 200) continue;
        this.#reading = reading;
      }
      const reading = this.#reading;
      const framing = reading.framing;
      if (framing.kind === "length") {
        framing.left = this.#takeBody(reading, framing.left);
        if (framing.left > 0) return;
        this.#finish();
        return;
      }
      if (framing.kind === "close") {
        if (this.#pending.length > 0) reading.parts.push(this.#pending);
        this.#pending = Buffer.alloc(0);
        return; // the end of the connection ends the body (see #end)
      }
      if (!this.#advanceChunked(reading, framing)) return;
      this.#finish();
      return;
    }
  }

  /** Moves up to `left` body bytes from what arrived to the answer; returns what is still owed. */
  #takeBody(reading: Reading, left: number): number {
    const take = Math.min(left, this.#pending.length);
    if (take > 0) reading.parts.push(this.#pending.subarray(0, take));
    this.#pending = this.#pending.subarray(take);
    return left - take;
  }

  /** True once the last chunk and the trailer are read. */
  #advanceChunked(reading: Reading, framing: Extract<Framing, { kind: "chunked" }>): boolean {
    for (;;) {
      if (framing.trailer) {
        // Trailer fields, then an empty line.
        const lineEnd = this.#pending.indexOf(CRLF);
        if (lineEnd < 0) {
          if (framing.trailerBytes + this.#pending.length > MAX_HEAD_BYTES) {
            throw new Error("the answer's trailer is too long");
          }
          return false;
        }
        framing.trailerBytes += lineEnd + 2;
        this.#pending = this.#pending.subarray(lineEnd + 2);
        if (lineEnd === 0) return true;
        continue;
      }
      if (framing.left > 0) {
        framing.left = this.#takeBody(reading, framing.left);
        if (framing.left > 0) return false;
        framing.left = -1; // the CRLF after the chunk's data
      }
      if (framing.left === -1) {
        if (this.#pending.length < 2) return false;
        if (this.#pending[0] !== 13 || this.#pending[1] !== 10) {
          throw new Error("a chunk of the answer does not end with CRLF");
        }
        this.#pending = this.#pending.subarray(2);
        framing.left = 0;
      }
      const lineEnd = this.#pending.indexOf(CRLF);
      if (lineEnd < 0) {
        if (this.#pending.length > 1024) throw new Error("a chunk size line is too long");
        return false;
      }
      const line = this.#pending.subarray(0, lineEnd).toString("latin1");
      this.#pending = this.#pending.subarray(lineEnd + 2);
      const sizeText = line.split(";", 1)[0]!.trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new Error(`invalid chunk size "${line}"`);
      const size = Number.parseInt(sizeText, 16);
      if (size === 0) framing.trailer = true;
      else framing.left = size;
    }
  }

  #finish(): void {
    const reading = this.#reading!;
    const exchange = this.#exchange!;
    this.#exchange = undefined;
    this.#reading = undefined;
    // Nothing may follow an answer to a request that was not sent yet, and an answer that
    // came before its request was written whole leaves the rest of that request unread.
    this.reusable =
      reading.keepAlive && !this.#closed && this.#pending.length === 0 && !this.#writing;
    this.#idleMs = reading.idleMs;
    const answer: Http1Answer = {
      status: reading.status,
      headers: reading.headers,
      body: reading.parts.length === 1 ? reading.parts[0]! : Buffer.concat(reading.parts),
    };
    try {
      exchange.onWhole();
    } finally {
      exchange.resolve(answer);
    }
  }

  #fail(error: Error): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.reusable = false;
    this.#socket.destroy();
    this.#end(error);
    exchange?.reject(error);
  }

  /** The socket ended (FIN, error, close or destroyed): the connection is done. */
  #end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reusable = false;
    clearTimeout(this.#idleTimer);
    this.#onIdleClose?.();
    this.#onIdleClose = undefined;
    const exchange = this.#exchange;
    if (exchange !== undefined) {
      if (error === undefined && this.#reading?.framing.kind === "close") {
        // A body read until the connection's end: that end is the body's.
        this.#finish();
      } else {
        this.#exchange = undefined;
        exchange.reject(error ?? new Error("the connection closed before the whole answer"));
      }
    }
    // Not waiting for our side to flush: a server that stopped reading never takes it.
    this.#socket.destroy();
  }
}

/** Parses a status line and headers; the body's framing follows from them. */
function readHead(head: string): Reading {
  const lines = head.split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: .*)?$/.exec(lines[0] ?? "");
  if (!statusLine) throw new Error(`invalid status line "${(lines[0] ?? "").slice(0, 80)}"`);
  const minor = statusLine[1];
  const status = Number(statusLine[2]);
  if (status === 101) throw new Error("unexpected 101 Switching Protocols");
  const headers = Object.create(null) as Record<string, string | string[]>;
  for (let index = 1; index < lines.length; index += 1) {
    const line = lines[index]!;
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0)).toLowerCase();
    if (colon <= 0 || !HTTP_TOKEN.test(name)) {
      throw new Error(`invalid header line "${line.slice(0, 80)}"`);
    }
    const value = line.slice(colon + 1).trim();
    const earlier = headers[name];
    if (earlier === undefined) headers[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else if (name === "content-length" && earlier !== value) {
      throw new Error("conflicting content-length headers");
    } else if (!FIRST_ONLY.has(name)) headers[name] = `${earlier}, ${value}`;
  }
  const text = (name: string) => {
    const value = headers[name];
    return (Array.isArray(value) ? value.join(", ") : (value ?? "")).toLowerCase();
  };
  const connection = text("connection");
  let keepAlive = minor === "1" ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  // As node's agent: a second less than the server's hint, and no reuse below 2 s.
  const hint = /\btimeout=(\d+)/.exec(text("keep-alive"));
  const idleMs = hint ? Math.min(IDLE_MS, (Number(hint[1]) - 1) * 1000) : IDLE_MS;
  if (idleMs <= 0) keepAlive = false;
  let framing: Framing;
  const transferEncoding = text("transfer-encoding");
  if (status === 204 || status === 304 || status < 200) {
    framing = { kind: "length", left: 0 };
  } else if (transferEncoding !== "") {
    if (!/(^|,)\s*chunked\s*$/.test(transferEncoding)) {
      throw new Error(`unsupported transfer-encoding "${transferEncoding}"`);
    }
    framing = { kind: "chunked", left: 0, trailer: false, trailerBytes: 0 };
  } else if (headers["content-length"] !== undefined) {
    const length = text("content-length");
    if (!/^\d{1,15}$/.test(length)) throw new Error(`invalid content-length "${length}"`);
    framing = { kind: "length", left: Number(length) };
  } else {
    framing = { kind: "close" };
    keepAlive = false;
  }
  return { status, headers: headers as IncomingHttpHeaders, framing, parts: [], keepAlive, idleMs };
}
