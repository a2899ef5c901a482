import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  createHttp1Server,
  type Http1Server,
  type MockRequest,
  type MockResponse,
} from "../src/http1-server.js";

/**
 * The mock's HTTP/1.1 server, spoken to over raw sockets so that each corner of the
 * protocol (chunks, 100-continue, pipelining, bad heads, HTTP/1.0, disconnects) is sent
 * byte for byte as a client would, not as fetch happens to.
 */

type Handler = (request: MockRequest, response: MockResponse) => void;

let server: Http1Server | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(handler: Handler, maxBodyBytes = 1024): Promise<Http1Server> {
  server = await createHttp1Server(handler, {
    port: 0,
    host: "127.0.0.1",
    maxBodyBytes,
    maxHeadBytes: 512,
  });
  return server;
}

/** Answers each request with what it received, as JSON with a content-length. */
const echo: Handler = (request, response) => {
  const body = JSON.stringify({
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: request.body.toString("utf8"),
  });
  response.writeHead(200, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  });
  response.end(body);
};

/** A raw client connection that keeps everything it receives. */
class RawClient {
  readonly socket: net.Socket;
  received = "";
  closed = false;
  readonly #waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      this.received += data;
      for (const waiter of this.#waiters) waiter();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const waiter of this.#waiters) waiter();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  send(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, "latin1", () => resolve()));
  }

  /** Waits until `test` holds for what was received (or the connection closed). */
  until(test: (received: string) => boolean, timeoutMs = 2_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (test(this.received) || this.closed) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve(this.received);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out; received so far: ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits until the server closes the connection. */
  untilClosed(): Promise<string> {
    return this.until(() => false);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits received bytes into whole responses (content-length, chunked or until close). */
function parseResponses(text: string, closed = false): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf("\r\n\r\n");
    if (headEnd < 0) break;
    const [statusLine, ...lines] = rest.slice(0, headEnd).split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)![1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(headEnd + 4);
    if (status === 100) continue;
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (rest.length < length) break;
      responses.push({ status, headers, body: rest.slice(0, length) });
      rest = rest.slice(length);
    } else if (headers["transfer-encoding"] === "chunked") {
      let body = "";
      let complete = false;
      for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        if (lineEnd < 0) break;
        const size = Number.parseInt(rest.slice(0, lineEnd), 16);
        if (size === 0) {
          rest = rest.slice(lineEnd + 4);
          complete = true;
          break;
        }
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
      }
      if (!complete) break;
      responses.push({ status, headers, body });
    } else {
      if (!closed) break;
      responses.push({ status, headers, body: rest });
      rest = "";
    }
  }
  return responses;
}

function echoed(response: ParsedResponse): { method: string; url: string; body: string } & {
  headers: Record<string, string>;
} {
  return JSON.parse(response.body) as ReturnType<typeof echoed>;
}

const responseCount =
  (count: number) =>
  (received: string): boolean =>
    parseResponses(received).length >= count;

describe("the mock's HTTP/1.1 server", () => {
  it("reads a content-length body and keeps the connection for the next request", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send(
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Twice: a\r\nx-twice: b\r\n\r\nhello",
    );
    await client.until(responseCount(1));
    await client.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    const responses = parseResponses(await client.until(responseCount(2)));
    expect(client.closed).toBe(false);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(responses[0]!.headers.connection).toBe("keep-alive");
    expect(echoed(responses[0]!)).toMatchObject({
      method: "POST",
      url: "/v1/chat/completions?x=1",
      body: "hello",
      headers: { "content-length": "5", "x-twice": "a, b", host: "a" },
    });
    expect(echoed(responses[1]!)).toMatchObject({ method: "GET", url: "/health", body: "" });
    client.destroy();
  });

  it("reads a body that arrives one byte at a time", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    const request = "POST /a HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world";
    for (const byte of request) await client.send(byte);
    const [response] = parseResponses(await client.until(responseCount(1)));
    expect(echoed(response!).body).toBe("hello world");
    client.destroy();
  });

  it("reads a chunked body with chunk extensions and trailers, split at every byte", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    const request =
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n" +
      "1\r\n \r\n" +
      "A\r\n0123456789\r\n" +
      "0\r\nX-Trailer: yes\r\n\r\n";
    for (const byte of request) await client.send(byte);
    await client.send(
      "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    const responses = parseResponses(await client.until(responseCount(2)));
    expect(echoed(responses[0]!)).toMatchObject({ url: "/a", body: "hello 0123456789" });
    expect(echoed(responses[1]!)).toMatchObject({ url: "/b", body: "abc" });
    client.destroy();
  });

  it("answers 100 Continue before the body when the client waits for it", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send("POST /a HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    expect(await client.until((received) => received.includes("\r\n\r\n"))).toBe(
      "HTTP/1.1 100 Continue\r\n\r\n",
    );
    await client.send("body");
    const responses = parseResponses(await client.until(responseCount(1)));
    expect(echoed(responses[0]!).body).toBe("body");
    // Sent once: the 100 and then the answer, nothing else.
    expect(client.received.match(/HTTP\/1\.1 100/g)).toHaveLength(1);
    client.destroy();
  });

  it("answers pipelined requests one at a time, in the order they were sent", async () => {
    const started: string[] = [];
    const { port } = await start((request, response) => {
      started.push(request.url);
      // The first request answers last if the server ran them side by side.
      const delay = request.url === "/1" ? 60 : 5;
      setTimeout(() => echo(request, response), delay);
    });
    const client = await RawClient.connect(port);
    await client.send(
      "GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwoGET /3 HTTP/1.1\r\n\r\n",
    );
    const responses = parseResponses(await client.until(responseCount(3)));
    expect(responses.map((response) => echoed(response).url)).toEqual(["/1", "/2", "/3"]);
    expect(echoed(responses[1]!).body).toBe("two");
    expect(started).toEqual(["/1", "/2", "/3"]);
    client.destroy();
  });

  it("answers many pipelined requests that a handler ends at once", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send("GET /x HTTP/1.1\r\n\r\n".repeat(2_000));
    const responses = parseResponses(await client.until(responseCount(2_000), 10_000));
    expect(responses).toHaveLength(2_000);
    client.destroy();
  });

  it.each([
    ["a malformed request line", "GET /\r\n\r\n", /malformed request line/],
    ["a malformed header line", "GET / HTTP/1.1\r\nno colon here\r\n\r\n", /malformed header/],
    [
      "an invalid content-length",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      /invalid content-length/,
    ],
    [
      "an unsupported transfer-encoding",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      /unsupported transfer-encoding: gzip/,
    ],
    [
      "a malformed chunk size",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      /malformed chunk size/,
    ],
    [
      "a chunk longer than its size",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
      /chunk not ended by CRLF/,
    ],
  ])("answers 400 with a JSON error and closes on %s", async (_name, request, message) => {
    let handled = 0;
    const { port } = await start((request_, response) => {
      handled += 1;
      echo(request_, response);
    });
    const client = await RawClient.connect(port);
    await client.send(request);
    const received = await client.untilClosed();
    const [response] = parseResponses(received);
    expect(response!.status).toBe(400);
    expect(response!.headers.connection).toBe("close");
    const error = JSON.parse(response!.body) as { error: { message: string; type: string } };
    expect(error.error.type).toBe("invalid_request_error");
    expect(error.error.message).toMatch(message);
    expect(handled).toBe(0);
  });

  it("answers 413 to a body over the limit, by content-length or by chunks", async () => {
    const { port } = await start(echo, 8);
    const byLength = await RawClient.connect(port);
    await byLength.send("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n");
    expect(parseResponses(await byLength.untilClosed())[0]!.status).toBe(413);
    const byChunks = await RawClient.connect(port);
    await byChunks.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n");
    await byChunks.send("4\r\n6789\r\n0\r\n\r\n");
    expect(parseResponses(await byChunks.untilClosed())[0]!.status).toBe(413);
    // At the limit is accepted.
    const atLimit = await RawClient.connect(port);
    await atLimit.send("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
    const [accepted] = parseResponses(await atLimit.until(responseCount(1)));
    expect(echoed(accepted!).body).toBe("12345678");
    atLimit.destroy();
  });

  it("answers 431 to a head over the limit", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send(`GET / HTTP/1.1\r\nX-Long: ${"a".repeat(600)}`);
    expect(parseResponses(await client.untilClosed())[0]!.status).toBe(431);
  });

  it("closes an HTTP/1.0 connection after its answer and does not chunk a streamed body", async () => {
    const { port } = await start((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: 1\n\n");
      response.write("");
      response.end("data: 2\n\n");
    });
    const client = await RawClient.connect(port);
    await client.send("GET /stream HTTP/1.0\r\n\r\n");
    const received = await client.untilClosed();
    const [response] = parseResponses(received, true);
    expect(response!.headers.connection).toBe("close");
    expect(response!.headers["transfer-encoding"]).toBeUndefined();
    expect(response!.body).toBe("data: 1\n\ndata: 2\n\n");
  });

  it("keeps an HTTP/1.0 connection that asks for keep-alive when the answer has a length", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await client.until(responseCount(1));
    await client.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const responses = parseResponses(await client.until(responseCount(2)));
    expect(responses.map((response) => echoed(response).url)).toEqual(["/a", "/b"]);
    expect(client.closed).toBe(false);
    client.destroy();
  });

  it("closes after the answer when an HTTP/1.1 client sends connection: close", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    const responses = parseResponses(await client.untilClosed());
    expect(responses.map((response) => echoed(response).url)).toEqual(["/a"]);
    expect(responses[0]!.headers.connection).toBe("close");
  });

  it("streams a chunked answer that fetch reads whole; an empty write does not end it", async () => {
    const { port } = await start((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("");
      response.write("one ");
      setTimeout(() => {
        response.write("");
        response.write("two ");
        response.end("three");
      }, 10);
    });
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(await response.text()).toBe("one two three");
  });

  it("tells a waiting response when its client goes away, and only then", async () => {
    let closedCount = 0;
    let waiting: MockResponse | undefined;
    let arrive: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const { port } = await start((_request, response) => {
      waiting = response;
      response.onClose(() => {
        closedCount += 1;
      });
      arrive();
    });
    const client = await RawClient.connect(port);
    await client.send("GET /hang HTTP/1.1\r\n\r\n");
    await arrived;
    expect(waiting!.destroyed).toBe(false);
    client.destroy();
    await new Promise<void>((resolve) => {
      const poll = (): void => (closedCount > 0 ? resolve() : void setTimeout(poll, 5));
      poll();
    });
    expect(closedCount).toBe(1);
    expect(waiting!.destroyed).toBe(true);
    // Ending after the client left neither throws nor calls the listener again.
    waiting!.end("late");
    expect(closedCount).toBe(1);
  });

  it("does not call the close listener of a response that ended", async () => {
    let closedCount = 0;
    const { port } = await start((request, response) => {
      response.onClose(() => {
        closedCount += 1;
      });
      echo(request, response);
    });
    const client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\n\r\n");
    await client.until(responseCount(1));
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closedCount).toBe(0);
  });

  it("drops idle keep-alive connections when it closes", async () => {
    const { port } = await start(echo);
    const client = await RawClient.connect(port);
    await client.send("GET / HTTP/1.1\r\n\r\n");
    await client.until(responseCount(1));
    await server!.close();
    server = undefined;
    await client.untilClosed();
    expect(client.closed).toBe(true);
  });
});
