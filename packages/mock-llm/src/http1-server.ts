import net from "node:net";
import { errorBody } from "./openai-format.js";

/** A request as the mock's routes see it: its whole body already read. */
export interface MockRequest {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** The answer to one request: a head, then a body with a length or in chunks. */
export interface MockResponse {
  /** True once `writeHead` was called. */
  readonly headersSent: boolean;
  /** True once the connection is gone (destroyed, closed by the client). */
  readonly destroyed: boolean;
  /**
   * Sets status and headers. With a `content-length` header the body goes as is;
   * without one, in chunks (`transfer-encoding: chunked`), as a stream of events does.
   */
  writeHead(status: number, headers: Record<string, string>): void;
  write(text: string): void;
  /** Ends the answer; the connection takes its next request. */
  end(text?: string): void;
  /** Drops the connection (a hung or abandoned request). */
  destroy(): void;
  /** `listener` runs once if the connection goes away before `end`; undefined unsets it. */
  onClose(listener: (() => void) | undefined): void;
}

/** Options of {@link createHttp1Server}. */
export interface Http1ServerOptions {
  /** Largest request body accepted (413 past it). */
  maxBodyBytes: number;
  /** Largest request head accepted (431 past it). Default 64 KiB. */
  maxHeadBytes?: number;
}

/** A listening server. */
export interface Http1Server {
  readonly port: number;
  /** Stops listening and drops every connection, idle keep-alive ones too. */
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  413: "Payload Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};
const HEAD_END = Buffer.from("\r\n\r\n");
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/**
 * A small HTTP/1.1 server over `node:net` for the mock: request heads with
 * `content-length` or chunked bodies, `expect: 100-continue`, keep-alive, pipelined
 * requests taken one at a time, HTTP/1.0.
 *
 * Why not node:http: the mock shares the machine with the system it serves (the
 * benchmarks run both on two cores), and node:http's request and response objects,
 * streams and events cost ~150–200 µs of CPU per request there; this costs a fraction.
 */
export async function createHttp1Server(
  handler: (request: MockRequest, response: MockResponse) => void,
  options: Http1ServerOptions & { port: number; host: string },
): Promise<Http1Server> {
  const connections = new Set<Connection>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    const connection = new Connection(socket, handler, {
      maxBodyBytes: options.maxBodyBytes,
      maxHeadBytes: options.maxHeadBytes ?? 64 * 1024,
    });
    connections.add(connection);
    socket.once("close", () => connections.delete(connection));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.destroy();
      });
      return closed;
    },
  };
}

interface Head {
  method: string;
  url: string;
  headers: Record<string, string>;
  keepAlive: boolean;
  /** An HTTP/1.0 request: its answer cannot be chunked. */
  http10: boolean;
  /** Bytes of the head, blank line included. */
  size: number;
  /** Body length when given by content-length; undefined for a chunked body. */
  length: number | undefined;
}

/** One client connection: reads requests, one at a time, and writes their answers. */
class Connection {
  /** Received bytes not yet handed to a request, joined. */
  #buffer: Buffer = Buffer.alloc(0);
  /** Received after `#buffer`, not yet joined (a large body arrives in many pieces). */
  #pieces: Buffer[] = [];
  #piecesBytes = 0;
  #head: Head | undefined;
  #chunked: ChunkedBody | undefined;
  #continued = false;
  #active: Response | undefined;
  #gone = false;
  /** True while `#parse` runs: a response ended inside a handler lets that loop go on. */
  #parsing = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: (request: MockRequest, response: MockResponse) => void,
    private readonly limits: { maxBodyBytes: number; maxHeadBytes: number },
  ) {
    socket.on("data", (data: Buffer) => this.#receive(data));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.#gone = true;
      this.#active?.connectionClosed();
    });
  }

  get gone(): boolean {
    return this.#gone || this.socket.destroyed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  write(data: string): void {
    if (!this.gone) this.socket.write(data);
  }

  /** The active response ended: close, or go on with a request already received. */
  responseEnded(keepAlive: boolean): void {
    this.#active = undefined;
    if (!keepAlive) {
      this.#gone = true;
      this.socket.end();
      return;
    }
    if (!this.#parsing && this.#buffer.length + this.#piecesBytes > 0) this.#parse();
  }

  #receive(data: Buffer): void {
    this.#pieces.push(data);
    this.#piecesBytes += data.length;
    if (this.#active === undefined) this.#parse();
  }

  /** Everything received and not handed over, as one buffer (joined only when needed). */
  #take(): Buffer {
    if (this.#pieces.length > 0) {
      this.#buffer =
        this.#buffer.length === 0 && this.#pieces.length === 1
          ? this.#pieces[0]!
          : Buffer.concat([this.#buffer, ...this.#pieces]);
      this.#pieces = [];
      this.#piecesBytes = 0;
    }
    return this.#buffer;
  }

  #parse(): void {
    this.#parsing = true;
    try {
      this.#parseRequests();
    } finally {
      this.#parsing = false;
    }
  }

  #parseRequests(): void {
    while (this.#active === undefined && !this.gone) {
      if (this.#head === undefined) {
        const buffer = this.#take();
        const end = buffer.indexOf(HEAD_END);
        if (end < 0) {
          if (buffer.length > this.limits.maxHeadBytes) this.#fail(431, "request head too large");
          return;
        }
        const head = readHead(buffer.subarray(0, end).toString("latin1"), end + 4);
        if (typeof head === "string") return this.#fail(400, head);
        if (head.length !== undefined && head.length > this.limits.maxBodyBytes) {
          return this.#fail(413, `request body over ${this.limits.maxBodyBytes} bytes`);
        }
        this.#head = head;
        if (head.length === undefined) this.#chunked = new ChunkedBody(this.limits.maxBodyBytes);
      }
      const head = this.#head;
      let complete: [Buffer, number] | undefined;
      if (this.#chunked) {
        const outcome = this.#chunked.read(this.#take(), head.size);
        if (typeof outcome === "string")
          return this.#fail(outcome.startsWith("413") ? 413 : 400, outcome.slice(4));
        complete = outcome;
      } else {
        const needed = head.size + head.length!;
        // A body arriving in pieces is joined once, when all of it is here.
        if (this.#buffer.length + this.#piecesBytes >= needed) {
          complete = [this.#take().subarray(head.size, needed), needed];
        }
      }
      if (complete === undefined) {
        if (!this.#continued && /100-continue/i.test(head.headers.expect ?? "")) {
          this.#continued = true;
          this.write("HTTP/1.1 100 Continue\r\n\r\n");
        }
        return;
      }
      const [body, consumed] = complete;
      this.#buffer = this.#buffer.subarray(consumed);
      this.#head = undefined;
      this.#chunked = undefined;
      this.#continued = false;
      const response = new Response(this, head.keepAlive, head.http10);
      this.#active = response;
      this.handler({ method: head.method, url: head.url, headers: head.headers, body }, response);
    }
  }

  /** Answers a request that cannot be read, then closes the connection. */
  #fail(status: number, message: string): void {
    const body = JSON.stringify(errorBody(message, "invalid_request_error", null));
    this.socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.#pieces = [];
    this.#piecesBytes = 0;
    this.#buffer = Buffer.alloc(0);
    this.#gone = true;
  }
}

/** Parses a request head; a string is what is wrong with it. */
function readHead(text: string, size: number): Head | string {
  const lines = text.split("\r\n");
  const line = REQUEST_LINE.exec(lines[0] ?? "");
  if (!line) return "malformed request line";
  const headers: Record<string, string> = {};
  for (let index = 1; index < lines.length; index += 1) {
    const header = HEADER_LINE.exec(lines[index]!);
    if (!header) return "malformed header line";
    const name = header[1]!.toLowerCase();
    headers[name] = headers[name] === undefined ? header[2]! : `${headers[name]}, ${header[2]}`;
  }
  const connection = (headers.connection ?? "").toLowerCase();
  const keepAlive =
    line[3] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
  const encoding = headers["transfer-encoding"]?.toLowerCase();
  let length: number | undefined = 0;
  if (encoding !== undefined) {
    if (encoding !== "chunked") return `unsupported transfer-encoding: ${encoding}`;
    length = undefined;
  } else if (headers["content-length"] !== undefined) {
    if (!/^\d+$/.test(headers["content-length"])) return "invalid content-length";
    length = Number(headers["content-length"]);
  }
  return {
    method: line[1]!,
    url: line[2]!,
    headers,
    keepAlive,
    http10: line[3] === "0",
    size,
    length,
  };
}

/** Reads a chunked body as its pieces arrive; keeps its place between reads. */
class ChunkedBody {
  #parts: Buffer[] = [];
  #size = 0;
  /** Offset in the connection's buffer where the next chunk-size line starts. */
  #at: number | undefined;

  constructor(private readonly maxBytes: number) {}

  /** The body and the bytes it took through its last chunk, undefined if incomplete. */
  read(buffer: Buffer, start: number): [Buffer, number] | undefined | string {
    let at = this.#at ?? start;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd < 0) break;
      const sizeText = buffer.subarray(at, lineEnd).toString("latin1").split(";")[0]!.trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) return "400 malformed chunk size";
      const size = Number.parseInt(sizeText, 16);
      if (size === 0) {
        // The last chunk: its line, any trailers, then a blank line.
        const end = buffer.indexOf(HEAD_END, lineEnd);
        if (end < 0) break;
        return [Buffer.concat(this.#parts), end + 4];
      }
      const dataEnd = lineEnd + 2 + size;
      if (buffer.length < dataEnd + 2) break;
      if (buffer[dataEnd] !== 13 || buffer[dataEnd + 1] !== 10)
        return "400 chunk not ended by CRLF";
      this.#size += size;
      if (this.#size > this.maxBytes) return `413 request body over ${this.maxBytes} bytes`;
      this.#parts.push(buffer.subarray(lineEnd + 2, dataEnd));
      at = dataEnd + 2;
    }
    this.#at = at;
    return undefined;
  }
}

class Response implements MockResponse {
  #head: string | undefined;
  #chunked = false;
  #ended = false;
  #closeListener: (() => void) | undefined;

  #keepAlive: boolean;

  constructor(
    private readonly connection: Connection,
    keepAlive: boolean,
    private readonly http10: boolean,
  ) {
    this.#keepAlive = keepAlive;
  }

  get headersSent(): boolean {
    return this.#head !== undefined;
  }

  get destroyed(): boolean {
    return this.connection.gone;
  }

  writeHead(status: number, headers: Record<string, string>): void {
    if (this.#head !== undefined) throw new Error("writeHead: the head was already written");
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`;
    let length = false;
    for (const name in headers) {
      const lower = name.toLowerCase();
      if (lower === "connection") continue;
      if (lower === "content-length") length = true;
      head += `${name}: ${headers[name]}\r\n`;
    }
    // An HTTP/1.0 client knows no chunks: a body without a length ends with the connection.
    if (!length && this.http10) this.#keepAlive = false;
    this.#chunked = !length && !this.http10;
    if (this.#chunked) head += "transfer-encoding: chunked\r\n";
    head += this.#keepAlive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n";
    // Held until the first write, so that a head and its body leave in one write.
    this.#head = head;
  }

  write(text: string): void {
    if (this.#ended) return;
    // An empty chunk would end the body: an empty write only sends the head.
    this.#send(text.length === 0 ? "" : this.#chunked ? chunk(text) : text);
  }

  end(text?: string): void {
    if (this.#ended) return;
    if (this.#head === undefined) this.writeHead(200, { "content-length": "0" });
    let tail = text === undefined || text.length === 0 ? "" : this.#chunked ? chunk(text) : text;
    if (this.#chunked) tail += "0\r\n\r\n";
    this.#send(tail);
    this.#ended = true;
    this.#closeListener = undefined;
    this.connection.responseEnded(this.#keepAlive);
  }

  destroy(): void {
    this.connection.destroy();
  }

  onClose(listener: (() => void) | undefined): void {
    this.#closeListener = listener;
  }

  /** The connection closed: a response still going tells its listener. */
  connectionClosed(): void {
    if (this.#ended) return;
    const listener = this.#closeListener;
    this.#closeListener = undefined;
    listener?.();
  }

  #send(data: string): void {
    const head = this.#head ?? "";
    if (head.length > 0) this.#head = "";
    if (head.length + data.length > 0) this.connection.write(head + data);
  }
}

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}
