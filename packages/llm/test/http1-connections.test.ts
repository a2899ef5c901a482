import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { exchange, httpTarget } from "../src/http-exchange.js";
import { StreamedJsonBody } from "../src/streamed-json-body.js";

// The transport of plain-http: targets (http1-connections.ts), through `exchange`, against
// real servers: node's own, and raw sockets that answer exactly the bytes a test needs.

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A raw TCP server; `onRequest` gets each whole request (head and body) and its socket. */
async function rawServer(
  onRequest: (socket: net.Socket, request: { head: string; body: string }) => void,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const head = pending.subarray(0, headEnd).toString("latin1");
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        const body = pending.subarray(headEnd + 4, headEnd + 4 + length).toString("utf8");
        pending = pending.subarray(headEnd + 4 + length);
        onRequest(socket, { head, body });
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, "close");
  });
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/chat/completions`, connections: () => connections };
}

async function nodeServer(handler: Parameters<typeof createHttpServer>[1]): Promise<string> {
  const server: HttpServer = createHttpServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1/chat/completions`;
}

const post = (url: string, body = '{"q":1}') =>
  exchange(httpTarget(url), {
    method: "POST",
    headers: ["content-type", "application/json", "authorization", "Bearer k"],
    body,
  });

describe("plain-http exchanges", () => {
  it("sends a request node's server reads, and reuses the connection for the next", async () => {
    const seen: Array<{ port: number; body: string; headers: Record<string, unknown> }> = [];
    const url = await nodeServer(async (request, response) => {
      let body = "";
      for await (const chunk of request) body += String(chunk);
      seen.push({ port: request.socket.remotePort ?? 0, body, headers: request.headers });
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"ok":true}');
    });
    const first = await post(url, '{"text":"é 中 😀"}');
    const second = await post(url);
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('{"ok":true}');
    expect(second.status).toBe(200);
    expect(seen.map((request) => request.body)).toEqual(['{"text":"é 中 😀"}', '{"q":1}']);
    expect(seen[0]!.headers).toMatchObject({
      authorization: "Bearer k",
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength('{"text":"é 中 😀"}')),
    });
    expect(seen[1]!.port).toBe(seen[0]!.port);
  });

  it("reads a chunked answer, with extensions and a trailer", async () => {
    const { url } = await rawServer((socket) => {
      socket.write(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
          '5;ext=1\r\n{"a":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\nx-trailer: 1\r\n\r\n',
      );
    });
    const answer = await post(url);
    expect(answer.body.toString()).toBe('{"a":"b"}');
  });

  it("reads an answer that arrives one byte at a time", async () => {
    const { url } = await rawServer((socket) => {
      const bytes = Buffer.from(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n" +
          '{"a":"b"}',
      );
      let at = 0;
      const next = () => {
        if (at >= bytes.length) return;
        socket.write(bytes.subarray(at, at + 1));
        at += 1;
        setImmediate(next);
      };
      next();
    });
    const answer = await post(url);
    expect(answer.status).toBe(201);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.body.toString()).toBe('{"a":"b"}');
  });

  it("skips an interim 1xx answer", async () => {
    const { url } = await rawServer((socket) => {
      socket.write("HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n");
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
    });
    expect((await post(url)).body.toString()).toBe("{}");
  });

  it("reads a body without a length to the end of the connection, and opens a new one next", async () => {
    const { url, connections } = await rawServer((socket) => {
      socket.end('HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{"x":1}');
    });
    expect((await post(url)).body.toString()).toBe('{"x":1}');
    expect((await post(url)).body.toString()).toBe('{"x":1}');
    expect(connections()).toBe(2);
  });

  it.each([
    ["asks to close it", "connection: close"],
    ["keeps it open for a second at most", "keep-alive: timeout=1"],
  ])("does not reuse a connection when the answer %s", async (_, header) => {
    const { url, connections } = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\n${header}\r\ncontent-length: 2\r\n\r\n{}`);
    });
    await post(url);
    await post(url);
    expect(connections()).toBe(2);
  });

  it("opens a new connection when the server closed the idle one", async () => {
    const { url, connections } = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
      // A server whose keep-alive timeout is short: it closes the idle connection.
      setTimeout(() => socket.end(), 20);
    });
    await post(url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(url)).body.toString()).toBe("{}");
    expect(connections()).toBe(2);
  });

  it("fails an answer it cannot read as fetch failed, and drops the connection", async () => {
    let requests = 0;
    const { url, connections } = await rawServer((socket) => {
      requests += 1;
      if (requests === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n");
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
    });
    const failed = await post(url).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(TypeError);
    expect((failed as TypeError).message).toBe("fetch failed");
    expect(String((failed as TypeError).cause)).toMatch(/invalid content-length/);
    expect((await post(url)).body.toString()).toBe("{}");
    expect(connections()).toBe(2);
  });

  it("fails a connection closed mid-answer as fetch failed", async () => {
    const { url } = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial":');
    });
    const failed = await post(url).catch((error: unknown) => error);
    expect((failed as TypeError).message).toBe("fetch failed");
  });

  it("rejects with the signal's reason on an abort and never reuses that connection", async () => {
    let requests = 0;
    const { url, connections } = await rawServer((socket) => {
      requests += 1;
      // The first answer never comes; the second does.
      if (requests > 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
    });
    const controller = new AbortController();
    const pending = exchange(httpTarget(url), {
      method: "POST",
      headers: [],
      body: "{}",
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
    expect((await post(url)).body.toString()).toBe("{}");
    expect(connections()).toBe(2);
  });

  it("refuses a header value that would split the request", async () => {
    const { url } = await rawServer(() => undefined);
    const failed = await exchange(httpTarget(url), {
      method: "POST",
      headers: ["x-bad", "a\r\nx-injected: 1"],
      body: "{}",
    }).catch((error: unknown) => error);
    expect(String((failed as TypeError).cause)).toMatch(/invalid value of HTTP header x-bad/);
  });

  it("fails at once when the server ends the connection while the body is still going out", async () => {
    // A server that stops reading after the first bytes, then closes its side.
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        socket.pause();
        setTimeout(() => socket.end(), 50);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(() => void server.close());
    const target = httpTarget(
      `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1/chat/completions`,
    );
    const body = StreamedJsonBody.chatCompletion({ model: "m" }, [
      { role: "user", content: "z".repeat(20_000_000) },
    ]);
    const failed = await exchange(target, { method: "POST", headers: [], body }).catch(
      (error: unknown) => error,
    );
    expect((failed as TypeError).message).toBe("fetch failed");
    expect(String((failed as TypeError).cause)).toMatch(/closed before the whole answer/);
  });

  it("rejects a body whose pieces fail, instead of hanging", async () => {
    const { url } = await rawServer(() => undefined);
    const body = StreamedJsonBody.chatCompletion({ model: "m" }, []);
    body.pieces = function* pieces() {
      yield "{";
      throw new Error("no more pieces");
    };
    const failed = await exchange(httpTarget(url), { method: "POST", headers: [], body }).catch(
      (error: unknown) => error,
    );
    expect(String((failed as TypeError).cause)).toMatch(/no more pieces/);
  });

  it("keeps the first of a repeated Retry-After, as node does", async () => {
    const { url } = await rawServer((socket) => {
      socket.write(
        "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\nretry-after: 3\r\n" +
          "set-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 2\r\n\r\n{}",
      );
    });
    const answer = await post(url);
    expect(answer.status).toBe(429);
    expect(answer.headers["retry-after"]).toBe("3");
    expect(answer.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
  });

  it("gives a late abort no hold on the connection the next request took", async () => {
    const url = await nodeServer(async (request, response) => {
      for await (const _ of request);
      response.end('{"ok":true}');
    });
    const target = httpTarget(url);
    const controller = new AbortController();
    let next: Promise<unknown> | undefined;
    // A gate whose release starts the next request and then aborts the first one, in the
    // microtasks between the first answer's arrival and its delivery.
    const gate = {
      acquire: async () => () => {
        queueMicrotask(() =>
          queueMicrotask(() => {
            next = exchange(target, { method: "POST", headers: [], body: "{}" });
            controller.abort(new Error("too late"));
          }),
        );
      },
    };
    const first = await exchange(target, {
      method: "POST",
      headers: [],
      body: "{}",
      gate,
      signal: controller.signal,
    }).then(
      (answer) => answer.status,
      (error: unknown) => (error as Error).message,
    );
    expect([200, "too late"]).toContain(first);
    expect(((await next) as { status: number }).status).toBe(200);
  });

  it("does not keep a process alive with an idle connection", async () => {
    const url = await nodeServer((_request, response) => response.end("{}"));
    const module = fileURLToPath(new URL("../src/http-exchange.ts", import.meta.url));
    const script = `
      const { exchange, httpTarget } = await import(${JSON.stringify(module)});
      const answer = await exchange(httpTarget(${JSON.stringify(url)}), { method: "POST", headers: [], body: "{}" });
      console.log(answer.status);`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    let answeredAt = 0;
    child.stdout.on("data", (data) => {
      output += String(data);
      answeredAt = Date.now();
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(output.trim()).toBe("200");
    // A ref'd idle connection would hold the process until its 4 s idle timeout.
    expect(Date.now() - answeredAt).toBeLessThan(3_000);
  });
});

// https: targets keep node's client; it is the same code for http:, reached here by
// leaving a target's connections out.
describe("the node:http(s) path", () => {
  const viaNode = (url: string) => ({ ...httpTarget(url), connections: undefined });

  it("sends a request and reads its answer", async () => {
    const url = await nodeServer(async (request, response) => {
      let body = "";
      for await (const chunk of request) body += String(chunk);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ echo: body, auth: request.headers.authorization }));
    });
    const answer = await exchange(viaNode(url), {
      method: "POST",
      headers: ["authorization", "Bearer k"],
      body: '{"q":"é"}',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ echo: '{"q":"é"}', auth: "Bearer k" });
  });

  it("rejects with the signal's reason on an abort", async () => {
    const { url } = await rawServer(() => undefined);
    const controller = new AbortController();
    const pending = exchange(viaNode(url), {
      method: "POST",
      headers: [],
      body: "{}",
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await expect(pending).rejects.toThrow("stop");
  });

  it("fails a refused connection as fetch failed", async () => {
    const { url } = await rawServer(() => undefined);
    await closers.pop()!();
    const failed = await exchange(viaNode(url), { method: "POST", headers: [], body: "{}" }).catch(
      (error: unknown) => error,
    );
    expect((failed as TypeError).message).toBe("fetch failed");
  });
});
