import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import {
  createRootQueue,
  type RlmWorker,
  RlmQueueClient,
  type RootQueue,
  startRlmWorker,
} from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "../../../test/support/documents.js";
import {
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  testServer,
  TOKEN,
  uniquePrefix,
  within,
} from "./helpers.js";
import { OpenApiChecker, type OpenApiDocument } from "./openapi-checker.js";

// The OpenAI-compatible endpoint with the official openai client pointed at the API (the
// API token as its key), over HTTP, against real Redis, a worker and the mock LLM: what
// a service does to switch from a long-context model to RLM.
const prefix = uniquePrefix("chat");
let mock: MockLlmServer;
let worker: RlmWorker;
let app: FastifyInstance;
let baseUrl: string;
let openai: OpenAI;
let queueClient: RlmQueueClient;
let rootQueue: RootQueue;
let checker: OpenApiChecker;
const document = makeDocument({ chars: 30_000, markerCount: 9, seed: 21 });
const query = `How many times does "${document.marker}" appear?`;
/** The document as one message, the question as the last: the usual long-context call. */
const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: "user", content: document.text },
  { role: "user", content: query },
];

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 2, faults: { badRequestWhen: "PLEASE-FAIL" } });
  const topology = { connection: REDIS_OPTIONS, prefix };
  worker = await startRlmWorker({
    ...topology,
    model: { baseURL: mock.url, apiKey: "test-key", maxAttempts: 1 },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  });
  app = testServer(prefix, { heartbeatMs: 60_000 });
  baseUrl = await listen(app);
  openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: TOKEN, maxRetries: 0 });
  queueClient = new RlmQueueClient(topology);
  rootQueue = createRootQueue(topology);
  const res = await fetch(`${baseUrl}/v1/openapi.json`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  checker = new OpenApiChecker((await res.json()) as OpenApiDocument);
});

afterAll(async () => {
  await app?.close();
  await worker?.close({ timeoutMs: 5_000 });
  await Promise.all([queueClient?.close(), rootQueue?.close()]);
  await mock?.stop();
  await deleteKeysUnder(prefix);
});

function analysisIdOf(completionId: string): string {
  expect(completionId).toMatch(/^chatcmpl-an_/);
  return completionId.slice("chatcmpl-".length);
}

describe("POST /v1/chat/completions with the openai client", () => {
  it("answers as an ordinary chat completion, with the analysis's usage, through the queue", async () => {
    const { data: completion, response } = await openai.chat.completions
      .create({ model: "rlm", messages })
      .withResponse();
    expect(completion).toMatchObject({
      object: "chat.completion",
      model: "rlm",
      choices: [{ index: 0, message: { role: "assistant" }, finish_reason: "stop" }],
    });
    expect(completion.choices[0]!.message.content?.trim()).toBe("9");
    checker.checkComponent("ChatCompletion", completion);
    const id = analysisIdOf(completion.id);
    expect(response.headers.get("x-rlm-analysis-id")).toBe(id);
    // An analysis like any other: its record, its root job (Bull Board), the list.
    const view = await queueClient.getAnalysis(id);
    expect(view).toMatchObject({ status: "completed", query });
    const usage = view!.result!.usage;
    expect(completion.usage).toEqual({
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(await rootQueue.getJob(id)).toBeDefined();
    const listed = await queueClient.listAnalyses({ limit: 100 });
    expect(listed.analyses.map((a) => a.id)).toContain(id);
  });

  it("streams the answer as chunks, the usage last, then [DONE]", async () => {
    const stream = await openai.chat.completions.create({
      model: "rlm",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text.trim()).toBe("9");
    const finish = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish.map((chunk) => chunk.choices[0]!.finish_reason)).toEqual(["stop"]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.total_tokens).toBeGreaterThan(0);
    const ids = new Set(chunks.map((chunk) => chunk.id));
    expect(ids.size).toBe(1);
    const id = analysisIdOf(chunks[0]!.id);
    const view = await queueClient.getAnalysis(id);
    expect(last.usage!.prompt_tokens).toBe(view!.result!.usage.inputTokens);
    for (const chunk of chunks) expect(chunk.object).toBe("chat.completion.chunk");
  });

  it("sends progress as SSE comments on the wire, which the client skips", async () => {
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "rlm", messages, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body).toMatch(/^: iteration \d+\/\d+/m);
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(body).not.toMatch(/"usage":\{/);
  });

  it("takes the root model from rlm/<root-model>, and a JSON schema as the answer's", async () => {
    const completion = await openai.chat.completions.create({
      model: "rlm/mock-root-large",
      messages: [
        { role: "system", content: "You count things in documents." },
        { role: "user", content: document.text },
        { role: "user", content: query },
      ],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "count",
          schema: {
            type: "object",
            properties: { count: { type: "integer" } },
            required: ["count"],
          },
        },
      },
    });
    expect(completion.model).toBe("rlm/mock-root-large");
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ count: 9 });
    const view = await queueClient.getAnalysis(analysisIdOf(completion.id));
    expect(Object.keys(view!.result!.usage.byModel)).toContain("mock-root-large");
    // Two messages beside the question: an array of "role: content" strings.
    const record = view!.result!.messages.map((m) => m.content).join("\n");
    expect(record).toMatch(/array/);
  });

  it("answers a retry with the same Idempotency-Key from the same analysis", async () => {
    const headers = { "Idempotency-Key": `chat-${prefix}` };
    const first = await openai.chat.completions.create({ model: "rlm", messages }, { headers });
    const again = await openai.chat.completions.create({ model: "rlm", messages }, { headers });
    expect(again.id).toBe(first.id);
    expect(again.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    const other = await openai.chat.completions
      .create(
        { model: "rlm", messages: [...messages, { role: "user", content: "and?" }] },
        { headers },
      )
      .catch((error: unknown) => error);
    expect(other).toMatchObject({ status: 422, code: "idempotency_key_reused" });
  });

  it("refuses unknown models, bad keys and bad conversations in OpenAI's error shape", async () => {
    const unknown = await openai.chat.completions
      .create({ model: "gpt-4o", messages })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({
      status: 404,
      code: "model_not_found",
      type: "invalid_request_error",
      param: "model",
    });
    const badKey = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(badKey.chat.completions.create({ model: "rlm", messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    for (const [body, pattern] of [
      [{ messages: [{ role: "system", content: "hi" }] }, /user message/],
      [{ messages: [{ role: "user", content: "just a question" }] }, /no context/],
      [
        {
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] },
            { role: "user", content: "what is it?" },
          ],
        },
        /only text/,
      ],
      [{ messages, n: 2 }, /n must be 1/],
      [{ messages: [] }, /messages/],
    ] as const) {
      const error = await openai.chat.completions
        .create({
          model: "rlm",
          ...(body as unknown as { messages: OpenAI.ChatCompletionMessageParam[] }),
        })
        .catch((caught: unknown) => caught);
      expect(error, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).message).toMatch(pattern);
      expect((error as APIError).type).toBe("invalid_request_error");
    }
    const raw = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "nope", messages }),
    });
    checker.checkResponse("/v1/chat/completions", "post", 404, await raw.json());
  });

  it("answers a failed analysis with a 500 in OpenAI's shape, not to be retried", async () => {
    const error = (await openai.chat.completions
      .create({ model: "rlm", messages: [messages[0]!, { role: "user", content: "PLEASE-FAIL" }] })
      .catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.type).toBe("server_error");
    expect(error.message).toMatch(/failed/);
    expect(error.headers?.get("x-should-retry")).toBe("false");
    // Streamed, the failure arrives in-band and the client raises it.
    const stream = await openai.chat.completions.create({
      model: "rlm",
      messages: [messages[0]!, { role: "user", content: "PLEASE-FAIL again" }],
      stream: true,
    });
    const streamed = await (async () => {
      for await (const chunk of stream) void chunk;
    })().catch((caught: unknown) => caught);
    expect(streamed).toBeInstanceOf(OpenAI.APIError);
    expect((streamed as APIError).message).toMatch(/failed/);
  });

  it("cancels the analysis when the client goes away before the answer", async () => {
    mock.configure({ latencyMs: 300 });
    try {
      const controller = new AbortController();
      const stream = await openai.chat.completions.create(
        { model: "rlm", messages, stream: true },
        { signal: controller.signal },
      );
      let id = "";
      for await (const chunk of stream) {
        id = analysisIdOf(chunk.id);
        break; // leaving the loop aborts the request
      }
      const cancelled = await within(
        queueClient.waitForResult(id, { timeoutMs: 20_000 }).catch((error: unknown) => error),
        25_000,
        "the analysis to end",
      );
      expect(cancelled).toMatchObject({ code: "cancelled" });
    } finally {
      mock.configure({ latencyMs: 2 });
    }
  });
});

describe("GET /v1/models", () => {
  it("lists rlm", async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models).toEqual(["rlm"]);
  });
});
