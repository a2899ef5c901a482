import { once } from "node:events";
import { connect, type Socket } from "node:net";

/** A response read off the wire. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What `rawRequest` sends. */
export interface RawRequest {
  method?: string;
  path: string;
  /** Header lines as given: nothing is added but `host` (no content-length unless set). */
  headers?: Record<string, string | number>;
  /** Body pieces, written in order with backpressure. */
  body?: Iterable<Buffer | string>;
}

/**
 * Sends a request over a plain TCP socket, exactly as given (a truncated multipart
 * body, invalid UTF-8, a content length that lies): client libraries refuse or repair
 * such requests. Like Python's http.client, it writes the WHOLE body before it reads a
 * byte of the answer (the socket is paused meanwhile): a server that answers early and
 * closes makes this fail with EPIPE / ECONNRESET, as it does for those clients.
 */
export async function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  let failure: Error | undefined;
  socket.on("error", (error) => {
    failure = error;
  });
  const closed = once(socket, "close");
  await once(socket, "connect");
  socket.pause();
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  try {
    const head = [`${request.method ?? "POST"} ${request.path} HTTP/1.1`, `host: ${url.host}`];
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      head.push(`${name}: ${value}`);
    }
    await write(socket, `${head.join("\r\n")}\r\n\r\n`);
    for (const piece of request.body ?? []) await write(socket, piece);
    socket.resume();
    for (;;) {
      const response = parseResponse(Buffer.concat(received));
      if (response) return response;
      if (socket.destroyed || failure) {
        throw new Error(`no whole answer: ${failure?.message ?? "the connection closed"}`);
      }
      await Promise.race([once(socket, "data"), closed]);
    }
  } finally {
    socket.destroy();
  }
}

async function write(socket: Socket, piece: Buffer | string): Promise<void> {
  if (socket.destroyed) throw new Error("the server closed the connection while the body was sent");
  if (!socket.write(piece)) await Promise.race([once(socket, "drain"), once(socket, "close")]);
}

/** The first whole answer in `bytes` (content-length bodies only), or undefined. */
function parseResponse(bytes: Buffer): RawResponse | undefined {
  const end = bytes.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = bytes.subarray(end + 4);
  if (body.length < length) return undefined;
  return {
    status: Number(statusLine?.split(" ")[1]),
    headers,
    body: body.subarray(0, length).toString("utf8"),
  };
}
