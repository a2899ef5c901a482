import { subCallMessages } from "@rlm/core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createPrng,
  DEFAULT_SETTINGS,
  decideFault,
  type MockLlmServer,
  startMockLlmServer,
} from "../src/index.js";
import { rootConversation } from "./helpers/conversations.js";
import { type CompletionJson, postChat } from "./helpers/http.js";

const sub = subCallMessages('How many times does "a" appear?', "a a");
const noFaults = {
  rateLimitRate: 0,
  serverErrorRate: 0,
  hangRate: 0,
  malformedRate: 0,
  emptyRate: 0,
  badRequestWhen: null,
};

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ seed: 42 });
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  server.configure({ faults: noFaults, faultKinds: null, latencyMs: 0, jitterMs: 0 });
  server.reset();
});

describe("fault injection", () => {
  it("rate 1.0 rate limit: 429 with Retry-After, retry-after-ms and an OpenAI error body", async () => {
    server.configure({ faults: { rateLimitRate: 1, retryAfterSeconds: 2 } });
    const response = await postChat(server.url, { model: "m", messages: sub });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(response.headers.get("retry-after-ms")).toBe("2000");
    const body = (await response.json()) as {
      error: { message: string; type: string; code: string };
    };
    expect(body.error.code).toBe("rate_limit_exceeded");
    expect(body.error.message).toContain("Rate limit");
    expect(server.requests()[0]).toMatchObject({ status: 429, fault: "rate_limit" });
  });

  it("rate 1.0 server error: 500 with an error body", async () => {
    server.configure({ faults: { serverErrorRate: 1 } });
    const response = await postChat(server.url, { model: "m", messages: sub });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe(
      "server_error",
    );
    expect(server.stats().byFault).toEqual({ server_error: 1 });
  });

  it("rate 1.0 malformed: status 200 with a body that does not parse, streaming too", async () => {
    server.configure({ faults: { malformedRate: 1 } });
    const response = await postChat(server.url, { model: "m", messages: sub });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    const streamed = await (
      await postChat(server.url, { model: "m", messages: sub, stream: true })
    ).text();
    expect(streamed).not.toContain("[DONE]");
    expect(() => JSON.parse(streamed.slice(6))).toThrow();
    expect(server.stats().byFault).toEqual({ malformed: 2 });
  });

  it("rate 1.0 empty: status 200 with empty content", async () => {
    server.configure({ faults: { emptyRate: 1 } });
    const json = (await (
      await postChat(server.url, { model: "m", messages: sub })
    ).json()) as CompletionJson;
    expect(json.choices[0]?.message.content).toBe("");
    expect(json.usage.completion_tokens).toBe(0);
    expect(server.requests()[0]).toMatchObject({ status: 200, fault: "empty" });
  });

  it("rate 1.0 hang: no answer; a client abort releases it and it is recorded", async () => {
    server.configure({ faults: { hangRate: 1 } });
    const abort = new AbortController();
    const pending = postChat(server.url, { model: "m", messages: sub }, { signal: abort.signal });
    await vi.waitFor(() => expect(server.stats().inFlight).toBe(1), { timeout: 5_000 });
    expect(server.requests()[0]).toMatchObject({ fault: "hang", status: null, endedAt: null });
    abort.abort();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(() => expect(server.requests()[0]?.status).toBe(0), { timeout: 5_000 });
  });

  it("badRequestWhen answers 400 to requests whose last user message contains it", async () => {
    server.configure({ faults: { badRequestWhen: "POISON" } });
    const bad = await postChat(server.url, {
      model: "m",
      messages: subCallMessages("q", "x POISON y"),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
    const good = await postChat(server.url, { model: "m", messages: sub });
    expect(good.status).toBe(200);
    expect(server.requests().map((r) => r.fault)).toEqual(["bad_request", undefined]);
  });

  it("rate 0.3 over 200 requests faults a sane share, reproducibly for a seed", async () => {
    const run = async () => {
      server.reset();
      server.configure({ faults: { serverErrorRate: 0.3 } });
      for (let i = 0; i < 200; i += 1)
        await (await postChat(server.url, { model: "m", messages: sub })).text();
      return server.requests().map((r) => r.status);
    };
    const first = await run();
    const faulted = first.filter((status) => status === 500).length;
    expect(faulted).toBeGreaterThan(35);
    expect(faulted).toBeLessThan(85);
    expect(await run()).toEqual(first);
  });

  it("faultKinds restricts faults to some kinds of request", async () => {
    server.configure({ faults: { serverErrorRate: 1 }, faultKinds: ["sub"] });
    const root = await postChat(server.url, {
      model: "m",
      messages: rootConversation("Find x", "x"),
    });
    const subCall = await postChat(server.url, { model: "m", messages: sub });
    expect([root.status, subCall.status]).toEqual([200, 500]);
  });

  it("lays the rates end to end on one draw per request", () => {
    const faults = { ...DEFAULT_SETTINGS.faults, rateLimitRate: 0.5, emptyRate: 0.5 };
    const random = createPrng("x", "faults");
    const seen = new Set(
      Array.from({ length: 100 }, () => decideFault(faults, undefined, "sub", "", random)),
    );
    expect(seen).toEqual(new Set(["rate_limit", "empty"]));
  });
});

describe("latency", () => {
  it("waits latencyMs (+ jitter) before answering, fault answers too, and records real timestamps", async () => {
    server.configure({ latencyMs: 80, jitterMs: 20, faults: { rateLimitRate: 0.5 } });
    await Promise.all(
      Array.from({ length: 6 }, async () =>
        (await postChat(server.url, { model: "m", messages: sub })).text(),
      ),
    );
    const records = server.requests();
    expect(new Set(records.map((r) => r.status))).toEqual(new Set([200, 429]));
    for (const record of records) {
      expect((record.endedAt ?? 0) - record.startedAt).toBeGreaterThanOrEqual(80);
    }
    // Parallel requests are served in parallel: their intervals overlap.
    const lastStart = Math.max(...records.map((r) => r.startedAt));
    const firstEnd = Math.min(...records.map((r) => r.endedAt ?? 0));
    expect(lastStart).toBeLessThan(firstEnd);
  });
});

describe("stop", () => {
  it("releases hanging requests and closes keep-alive sockets", async () => {
    const own = await startMockLlmServer({ faults: { hangRate: 1 }, faultKinds: ["root"] });
    // A finished request leaves an idle keep-alive socket behind.
    expect((await postChat(own.url, { model: "m", messages: sub })).status).toBe(200);
    const hanging = postChat(own.url, { model: "m", messages: rootConversation("Find x", "x") });
    await vi.waitFor(() => expect(own.stats().inFlight).toBe(1), { timeout: 5_000 });
    await own.stop();
    await expect(hanging).rejects.toThrow();
    expect(own.requests()[1]).toMatchObject({ kind: "root", fault: "hang", status: 0 });
    await expect(fetch(`${own.url}/models`)).rejects.toThrow();
  });

  it("releases a request waiting out its latency at once", async () => {
    const own = await startMockLlmServer({ latencyMs: 60_000 });
    const waiting = postChat(own.url, { model: "m", messages: sub });
    await vi.waitFor(() => expect(own.stats().inFlight).toBe(1), { timeout: 5_000 });
    // Not after the 60 s: the test would time out first.
    await own.stop();
    await expect(waiting).rejects.toThrow();
    expect(own.requests()[0]).toMatchObject({ kind: "sub", status: 0 });
  });
});
