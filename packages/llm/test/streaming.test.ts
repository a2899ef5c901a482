import type { ModelDelta } from "@rlm/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createOpenAIModelClient,
  ModelCallError,
  type OpenAIModelClientOptions,
  type RetryInfo,
} from "../src/index.js";
import {
  chunk,
  completion,
  errorBody,
  json,
  type ScriptedServer,
  sse,
  startScriptedServer,
} from "./scripted-server.js";

const messages = [{ role: "user" as const, content: "Say hello." }];

let server: ScriptedServer;
let retries: RetryInfo[];
let deltas: ModelDelta[];
const onDelta = (delta: ModelDelta) => deltas.push(delta);

beforeEach(async () => {
  server = await startScriptedServer();
  retries = [];
  deltas = [];
});

afterEach(async () => {
  await server.close();
});

function client(overrides: Partial<OpenAIModelClientOptions> = {}) {
  return createOpenAIModelClient({
    apiKey: "test-key",
    baseURL: server.baseURL,
    sleep: async () => {},
    onRetry: (info) => retries.push(info),
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ModelCallError);
    return error as ModelCallError;
  }
  throw new Error("expected the call to fail");
}

const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };
const helloStream = [
  chunk({ role: "assistant", content: "" }),
  chunk({ content: "Hel" }),
  chunk({ content: "lo" }),
  chunk({ content: "." }, { finishReason: "stop" }),
  { ...chunk({}), choices: [], usage },
];

describe("a streamed call (request with onDelta)", () => {
  it("asks for a stream with usage, reports each piece as it arrives, and takes usage from the last chunk", async () => {
    server.script(sse(helloStream));
    const response = await client().complete({ model: "gpt-4o-mini", messages, onDelta });

    expect(server.requests[0]?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(deltas).toEqual([
      { text: "Hel", receivedChars: 3 },
      { text: "lo", receivedChars: 5 },
      { text: ".", receivedChars: 6 },
    ]);
    expect(response.content).toBe("Hello.");
    expect(response.model).toBe("gpt-4o-mini-2024-07-18");
    expect(response.usage).toMatchObject({ inputTokens: 12, outputTokens: 3 });
    expect(response.usageEstimated).toBe(false);
  });

  it("estimates usage when the stream carries none", async () => {
    server.script(sse(helloStream.slice(0, 4)));
    const response = await client().complete({ model: "gpt-4o-mini", messages, onDelta });
    expect(response.content).toBe("Hello.");
    expect(response.usageEstimated).toBe(true);
    expect(response.usage.outputTokens).toBe(2);
  });

  it("sends a call without onDelta as a plain request", async () => {
    server.script(completion());
    await client().complete({ model: "m", messages });
    expect(server.requests[0]?.body).not.toHaveProperty("stream");
  });

  it("retries a stream cut off before its finish_reason as malformed_response", async () => {
    server.script(sse(helloStream.slice(0, 2), { done: false }), sse(helloStream));
    const response = await client().complete({ model: "m", messages, onDelta });
    expect(response.content).toBe("Hello.");
    expect(retries.map((info) => info.error.code)).toEqual(["malformed_response"]);
    // The second attempt's pieces follow the first one's: progress shows what arrived.
    expect(deltas.map((delta) => delta.text).join("")).toBe("HelHello.");
  });

  it("retries an error event inside the stream as provider_error", async () => {
    server.script(
      sse([chunk({ content: "Hel" }), errorBody("The server is overloaded", null, "server_error")]),
      sse(helloStream),
    );
    const response = await client().complete({ model: "m", messages, onDelta });
    expect(response.content).toBe("Hello.");
    expect(retries[0]?.error.code).toBe("provider_error");
    expect(retries[0]?.error.message).toContain("overloaded");
  });

  it("retries a chunk that is not JSON as malformed_response", async () => {
    server.script(sse(['{"choices": [ not json']), sse(helloStream));
    await client().complete({ model: "m", messages, onDelta });
    expect(retries.map((info) => info.error.code)).toEqual(["malformed_response"]);
  });

  it("times out a stream that stops arriving, and cancels one at once", async () => {
    server.script(sse(helloStream, { hangAfter: 2 }));
    const timedOut = await failure(
      client({ timeoutMs: 200, retry: { maxAttempts: 1 } }).complete({
        model: "m",
        messages,
        onDelta,
      }),
    );
    expect(timedOut.code).toBe("timeout");
    expect(deltas.map((delta) => delta.text)).toEqual(["Hel"]);

    const controller = new AbortController();
    const pending = client().complete({
      model: "m",
      messages,
      signal: controller.signal,
      onDelta: (delta) => {
        onDelta(delta);
        controller.abort();
      },
    });
    const cancelled = await failure(pending);
    expect(cancelled.code).toBe("cancelled");
    expect(retries).toHaveLength(0);
  });

  it("fails at once, not retried, when onDelta throws", async () => {
    server.script(sse(helloStream));
    const error = await failure(
      client().complete({
        model: "m",
        messages,
        onDelta: () => {
          throw new Error("progress display broke");
        },
      }),
    );
    expect(error.code).toBe("internal_error");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("progress display broke");
    expect(server.requests).toHaveLength(1);
  });
});

const countFormat = {
  type: "json_schema" as const,
  json_schema: {
    name: "count",
    schema: {
      type: "object",
      properties: { count: { type: "integer" } },
      required: ["count"],
      additionalProperties: false,
    },
    strict: true,
  },
};

describe("responseFormat", () => {
  it("is sent as response_format, as given", async () => {
    server.script(completion({ content: '{"count":3}' }));
    const response = await client().complete({
      model: "m",
      messages,
      responseFormat: countFormat,
    });
    expect(response.content).toBe('{"count":3}');
    expect(server.requests[0]?.body).toMatchObject({ response_format: countFormat });
  });

  it("is not sent when not given", async () => {
    server.script(completion());
    await client().complete({ model: "m", messages });
    expect(server.requests[0]?.body).not.toHaveProperty("response_format");
  });

  it.each([
    [
      "OpenAI's 400",
      400,
      errorBody(
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
      ),
    ],
    ["a 400 naming json_schema", 400, { object: "error", message: "json_schema is unsupported" }],
    ["a 400 whose param names it", 400, { error: { message: "bad", param: "response_format" } }],
    ["a 422", 422, { detail: "extra fields not permitted" }],
  ])("refused with %s: unsupported_response_format, not retried", async (_name, status, body) => {
    server.script(json(status, body), completion());
    const error = await failure(
      client().complete({ model: "m", messages, responseFormat: countFormat }),
    );
    expect(error.code).toBe("unsupported_response_format");
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(status);
    expect(server.requests).toHaveLength(1);
  });

  it("leaves other 400s of a request with a format as bad_request", async () => {
    server.script(json(400, errorBody("maximum context length exceeded")));
    const error = await failure(
      client().complete({ model: "m", messages, responseFormat: countFormat }),
    );
    expect(error.code).toBe("bad_request");
  });
});
