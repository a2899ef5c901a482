import { createHash } from "node:crypto";
import { subCallMessages } from "@rlm/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockLlmServer, startMockLlmServer } from "../src/index.js";
import { rootConversation } from "./helpers/conversations.js";
import { type CompletionJson, postChat } from "./helpers/http.js";

let server: MockLlmServer;

beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  server.reset();
});

describe("mock LLM over HTTP", () => {
  it("listens on loopback with a /v1 base URL and answers /health and /v1/models", async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/v1`);
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(await health.json()).toEqual({ status: "ok" });
    const models = (await (await fetch(`${server.url}/models`)).json()) as {
      object: string;
      data: Array<{ id: string; object: string }>;
    };
    expect(models.object).toBe("list");
    expect(models.data.map((m) => m.id)).toContain("mock-root");
  });

  it("answers a non-streaming completion in OpenAI's shape with estimated usage", async () => {
    const messages = subCallMessages('How many times does "x" appear?', "x y x");
    const response = await postChat(server.url, { model: "gpt-sub", messages });
    expect(response.status).toBe(200);
    const json = (await response.json()) as CompletionJson;
    expect(json.object).toBe("chat.completion");
    expect(json.id).toMatch(/^chatcmpl-/);
    expect(json.model).toBe("gpt-sub");
    expect(typeof json.created).toBe("number");
    expect(json.choices[0]?.message).toMatchObject({ role: "assistant", content: "2" });
    expect(json.choices[0]?.finish_reason).toBe("stop");
    const promptChars = messages.reduce((sum, m) => sum + m.content.length, 0);
    expect(json.usage).toEqual({
      prompt_tokens: Math.ceil(promptChars / 4),
      completion_tokens: 1,
      total_tokens: Math.ceil(promptChars / 4) + 1,
    });
  });

  it("streams SSE chunks that add up to the same content, with a usage chunk on request", async () => {
    const messages = rootConversation('How many times does "ERR-4471" appear?', "a ERR-4471 b");
    const plain = (await (
      await postChat(server.url, { model: "m", messages })
    ).json()) as CompletionJson;
    const response = await postChat(server.url, {
      model: "m",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = (await response.text()).split("\n\n").filter((e) => e.length > 0);
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events[events.length - 1]).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as StreamChunk);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "m")).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(content).toBe(plain.choices[0]?.message.content);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
    const usage = chunks[chunks.length - 1];
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage).toEqual(plain.usage);
  });

  it("sends no usage chunk when the stream does not ask for it", async () => {
    const response = await postChat(server.url, {
      model: "m",
      messages: subCallMessages("Summarize this section.", "# A\nB."),
      stream: true,
    });
    const events = (await response.text()).split("\n\n").filter((e) => e.startsWith("data: {"));
    expect(events.some((e) => e.includes('"usage"'))).toBe(false);
  });

  it("records every request with kind, status, timestamps and the sha256 of model+messages", async () => {
    const messages = subCallMessages('Find "b"', "a\nb\n");
    await postChat(server.url, { model: "sub-model", messages });
    await postChat(server.url, {
      model: "root-model",
      messages: rootConversation("Find the code", "x"),
    });
    const records = server.requests();
    expect(records.map((r) => [r.id, r.model, r.kind, r.status])).toEqual([
      ["req_1", "sub-model", "sub", 200],
      ["req_2", "root-model", "root", 200],
    ]);
    const expected = createHash("sha256")
      .update(JSON.stringify({ model: "sub-model", messages }))
      .digest("hex");
    expect(records[0]?.messagesHash).toBe(expected);
    for (const record of records) {
      expect(record.endedAt).not.toBeNull();
      expect(record.endedAt ?? 0).toBeGreaterThanOrEqual(record.startedAt);
    }
    const over = (await (
      await fetch(`${server.url.replace("/v1", "")}/_mock/requests`)
    ).json()) as unknown[];
    expect(over).toHaveLength(2);
  });

  it("counts calls per model, kind and status", async () => {
    const sub = subCallMessages("Summarize this section.", "# T\nBody.");
    await Promise.all([
      postChat(server.url, { model: "a", messages: sub }),
      postChat(server.url, { model: "a", messages: sub }),
      postChat(server.url, { model: "b", messages: rootConversation("Find x", "x") }),
    ]);
    const stats = server.stats();
    expect(stats.total).toBe(3);
    expect(stats.byModel.a).toMatchObject({ calls: 2, byKind: { root: 0, sub: 2, final: 0 } });
    expect(stats.byModel.b).toMatchObject({ calls: 1, byKind: { root: 1, sub: 0, final: 0 } });
    expect(stats.byModel.a?.promptTokens).toBeGreaterThan(0);
    expect(stats.byKind).toEqual({ root: 1, sub: 2, final: 0 });
    expect(stats.byStatus).toEqual({ "200": 3 });
    const overHttp = await (await fetch(`http://127.0.0.1:${server.port}/_mock/stats`)).json();
    expect(overHttp).toEqual(stats);
    await fetch(`http://127.0.0.1:${server.port}/_mock/reset`, { method: "POST" });
    expect(server.stats().total).toBe(0);
  });

  it("can be configured at runtime, by method and by POST /_mock/config", async () => {
    const messages = rootConversation("Where is the word?", "alpha\nbeta");
    const first = async () =>
      ((await (await postChat(server.url, { model: "m", messages })).json()) as CompletionJson)
        .choices[0]?.message.content;
    server.configure({ strategy: "needle" });
    expect(server.settings().strategy).toBe("needle");
    await first();
    const config = `http://127.0.0.1:${server.port}/_mock/config`;
    const ok = await fetch(config, {
      method: "POST",
      body: JSON.stringify({ strategy: "summarize", latencyMs: 5 }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ strategy: "summarize", latencyMs: 5 });
    await first();
    expect(server.requests().map((r) => r.strategy)).toEqual(["needle", "summarize"]);
    const bad = await fetch(config, {
      method: "POST",
      body: JSON.stringify({ faults: { hangRate: 2 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain(
      "hangRate",
    );
    expect(server.settings().faults.hangRate).toBe(0);
    expect(() => server.configure({ strategy: "nope" as "auto" })).toThrow(/strategy/);
    server.configure({ strategy: "auto", latencyMs: 0 });
  });

  it("answers 400 to a body that is not JSON and 404 to an unknown route", async () => {
    const response = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      body: "{nope",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
  });

  it("takes chat completions with or without /v1, a trailing slash or a query", async () => {
    const origin = new URL(server.url).origin;
    const body = JSON.stringify({
      model: "sub-model",
      messages: [{ role: "user", content: "hi" }],
    });
    const statuses = [];
    for (const path of [
      "/v1/chat/completions",
      "/chat/completions",
      "/v1/chat/completions/",
      "/v1/chat/completions?api-version=1",
    ]) {
      statuses.push((await fetch(`${origin}${path}`, { method: "POST", body })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect((await fetch(`${origin}/v1/chat/complete`, { method: "POST", body })).status).toBe(404);
  });
});

interface StreamChunk {
  object: string;
  model: string;
  choices: Array<{ delta: { role?: string; content?: string }; finish_reason: string | null }>;
  usage?: unknown;
}
