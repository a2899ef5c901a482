import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bypassesProxy, createOpenAIModelClient, proxyFor } from "../src/index.js";
import { completion, json, type ScriptedServer, startScriptedServer } from "./scripted-server.js";
import { tunnellingProxy } from "./support/tunnelling-proxy.js";

const messages = [{ role: "user" as const, content: "Say hello." }];

let server: ScriptedServer;
beforeEach(async () => {
  server = await startScriptedServer();
  server.script(completion());
});
afterEach(async () => {
  await server.close();
});

describe("the model client's connections", () => {
  it("keeps connections alive between calls", async () => {
    const model = createOpenAIModelClient({ apiKey: "k", baseURL: server.baseURL });
    for (let call = 0; call < 10; call += 1) await model.complete({ model: "m", messages });
    expect(server.requests).toHaveLength(10);
    // undici's pool may open a second one: a call that follows an answer at once can find
    // the first connection not yet marked idle.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it("goes through the proxy it is given, and around it for a host in noProxy", async () => {
    const proxy = await tunnellingProxy();
    try {
      const proxied = createOpenAIModelClient({
        apiKey: "k",
        baseURL: server.baseURL,
        proxy: { httpProxy: proxy.url },
      });
      expect((await proxied.complete({ model: "m", messages })).content).toBe("hello");
      const { host } = new URL(server.baseURL);
      expect(proxy.targets).toEqual([host]);

      const direct = createOpenAIModelClient({
        apiKey: "k",
        baseURL: server.baseURL,
        proxy: { httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: "localhost, 127.0.0.1" },
      });
      await direct.complete({ model: "m", messages });
      expect(proxy.targets).toHaveLength(1);
      expect(server.requests).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it("uses httpsProxy only for https endpoints", async () => {
    const proxy = await tunnellingProxy();
    try {
      const model = createOpenAIModelClient({
        apiKey: "k",
        baseURL: server.baseURL,
        proxy: { httpsProxy: proxy.url },
      });
      await model.complete({ model: "m", messages });
      expect(proxy.targets).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("leaves no listener on the caller's signal once a call is over", async () => {
    // The SDK never removes the listener it adds to the signal it is given: a run's
    // signal, shared by all its calls, would collect one per call (and Node warns past 10).
    const model = createOpenAIModelClient({ apiKey: "k", baseURL: server.baseURL });
    const run = new AbortController();
    for (let call = 0; call < 12; call += 1) {
      await model.complete({ model: "m", messages, signal: run.signal });
    }
    expect(getEventListeners(run.signal, "abort")).toHaveLength(0);
  });

  it("tells onSent once the request is on the wire, before its answer, once over retries", async () => {
    const model = createOpenAIModelClient({
      apiKey: "k",
      baseURL: server.baseURL,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    expect(model.reportsSent).toBe(true);
    // The server holds the answer until the test lets it go: onSent must come first.
    let answer: (() => void) | undefined;
    server.script(json(500, { error: { message: "busy" } }), (response, request) => {
      answer = () => completion()(response, request);
    });
    const told: number[] = [];
    const call = model.complete({
      model: "m",
      messages,
      onSent: () => told.push(server.requests.length),
    });
    await server.waitForRequests(2);
    await vi.waitFor(() => expect(answer).toBeDefined());
    // Told once, when the first attempt left (the server had none yet, or that one).
    expect(told).toHaveLength(1);
    expect(told[0]).toBeLessThanOrEqual(1);
    answer!();
    expect((await call).attempts).toBe(2);
    expect(told).toHaveLength(1);
  });

  it("calls no onSent when none is given, and an onSent that throws does not fail the call", async () => {
    const model = createOpenAIModelClient({ apiKey: "k", baseURL: server.baseURL });
    const response = await model.complete({
      model: "m",
      messages,
      onSent: () => {
        throw new Error("the caller's own failure");
      },
    });
    expect(response.content).toBe("hello");
  });
});

describe("proxy settings", () => {
  const url = (text: string) => new URL(text);

  it("picks the proxy by the endpoint's protocol", () => {
    const settings = { httpsProxy: "http://s:1", httpProxy: "http://p:1" };
    expect(proxyFor(url("https://api.openai.com/v1"), settings)).toBe("http://s:1");
    expect(proxyFor(url("http://localhost:11434/v1"), settings)).toBe("http://p:1");
    expect(proxyFor(url("https://api.openai.com/v1"), { httpProxy: "http://p:1" })).toBeUndefined();
    expect(proxyFor(url("https://api.openai.com/v1"), undefined)).toBeUndefined();
  });

  it("reads NO_PROXY entries as curl does", () => {
    const api = url("https://api.openai.com/v1");
    expect(bypassesProxy(api, "")).toBe(false);
    expect(bypassesProxy(api, "*")).toBe(true);
    expect(bypassesProxy(api, "openai.com")).toBe(true);
    expect(bypassesProxy(api, ".openai.com")).toBe(true);
    expect(bypassesProxy(api, "*.openai.com")).toBe(true);
    expect(bypassesProxy(api, "api.openai.com:443")).toBe(true);
    expect(bypassesProxy(api, "api.openai.com:8443")).toBe(false);
    expect(bypassesProxy(api, "notopenai.com, example.org")).toBe(false);
    expect(bypassesProxy(url("http://[::1]:8000/v1"), "::1")).toBe(true);
    expect(bypassesProxy(url("http://[::1]:8000/v1"), "[::1]:8000")).toBe(true);
    expect(bypassesProxy(url("http://LOCALHOST:8000/v1"), "localhost")).toBe(true);
  });
});
