import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { FETCH_HOOKS, undiciFetch } from "../src/undici-fetch.js";

// The fetch the SDK is given, against real node:http servers.
const dispatcher = new Agent();
const fetch = undiciFetch(dispatcher);
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

async function serve(listener: RequestListener): Promise<string> {
  server = createServer(listener);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/thing?x=1`;
}

describe("the SDK's fetch on undici", () => {
  it("sends method, path with query, headers and body; reads status, headers and body", async () => {
    let seen: { method?: string; url?: string; header?: string; body?: string } = {};
    const url = await serve((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        seen = {
          method: request.method,
          url: request.url,
          header: request.headers["x-a"] as string,
          body,
        };
        response.writeHead(201, { "content-type": "application/json", "x-b": "2" });
        response.end('{"ok":true}');
      });
    });
    const response = await fetch(url, {
      method: "POST",
      headers: new Headers({ "x-a": "1", "content-type": "application/json" }),
      body: '{"q":1}',
    });
    expect(seen).toEqual({ method: "POST", url: "/v1/thing?x=1", header: "1", body: '{"q":1}' });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-b")).toBe("2");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("answers a 204 with no body, and tells the hooks when an answer is in, before it resolves", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(204).end();
    });
    const order: string[] = [];
    const pending = fetch(url, {
      [FETCH_HOOKS]: { onAnswered: () => order.push("answered") },
    } as RequestInit).then((response) => {
      order.push("resolved");
      return response;
    });
    const response = await pending;
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();

    const url2 = await serve((_request, response2) => {
      response2.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    order.length = 0;
    await fetch(url2, {
      [FETCH_HOOKS]: { onAnswered: () => order.push("answered") },
    } as RequestInit).then(() => order.push("resolved"));
    expect(order).toEqual(["answered", "resolved"]);
  });

  it("hands an event stream over as it arrives, reading on only as it is read", async () => {
    const pieces = Array.from({ length: 200 }, (_, index) => `data: ${index}\n\n`);
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const piece of pieces) response.write(piece);
      response.end();
    });
    const response = await fetch(url, {});
    const reader = response.body!.getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(text).toBe(pieces.join(""));
  });

  it("rejects with the signal's reason on an abort, before or during the answer", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: 1\n\n");
      // Never ends.
    });
    const early = new AbortController();
    early.abort(new Error("gone before"));
    await expect(fetch(url, { signal: early.signal })).rejects.toThrow("gone before");

    const waiting = new AbortController();
    const hanging = await serve(() => {});
    const pending = fetch(hanging, { signal: waiting.signal });
    setTimeout(() => waiting.abort(new Error("gone while waiting")), 20);
    await expect(pending).rejects.toThrow("gone while waiting");

    const streaming = new AbortController();
    const response = await fetch(url, { signal: streaming.signal });
    const reader = response.body!.getReader();
    await reader.read();
    streaming.abort(new Error("gone mid-stream"));
    await expect(reader.read()).rejects.toThrow("gone mid-stream");
  });

  it("fails a refused connection with undici's error", async () => {
    const url = await serve(() => {});
    server?.close();
    server = undefined;
    await expect(fetch(url, {})).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
