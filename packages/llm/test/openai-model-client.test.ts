import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createOpenAIModelClient,
  ModelCallError,
  type OpenAIModelClientOptions,
  type RetryInfo,
} from "../src/index.js";
import {
  completion,
  errorBody,
  hang,
  headersThenHang,
  json,
  raw,
  type ScriptedServer,
  startScriptedServer,
} from "./scripted-server.js";

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Say hello." },
];

let server: ScriptedServer;
let retries: RetryInfo[];

beforeEach(async () => {
  server = await startScriptedServer();
  retries = [];
});

afterEach(async () => {
  await server.close();
});

/** A client against the scripted server whose backoff sleeps are instant (delays recorded). */
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

describe("createOpenAIModelClient: success", () => {
  it("returns content, the reported model, usage with cached tokens and cost", async () => {
    server.script(
      completion({
        content: "Hello.",
        model: "gpt-4o-2024-08-06",
        usage: {
          prompt_tokens: 1000,
          completion_tokens: 200,
          total_tokens: 1200,
          prompt_tokens_details: { cached_tokens: 400 },
        },
      }),
    );
    const response = await client().complete({
      model: "gpt-4o",
      messages,
      maxOutputTokens: 50,
      temperature: 0,
    });

    expect(response.content).toBe("Hello.");
    expect(response.model).toBe("gpt-4o-2024-08-06");
    expect(response.usage.inputTokens).toBe(1000);
    expect(response.usage.outputTokens).toBe(200);
    expect(response.usage.cachedInputTokens).toBe(400);
    // 600 uncached × $2.50 + 400 cached × $1.25 + 200 out × $10, per million.
    expect(response.usage.costUsd).toBeCloseTo(0.004, 10);
    expect(response.usageEstimated).toBe(false);
    expect(response.durationMs).toBeGreaterThanOrEqual(0);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/v1/chat/completions");
    expect(request?.headers.authorization).toBe("Bearer test-key");
    expect(request?.body).toMatchObject({
      model: "gpt-4o",
      messages,
      max_completion_tokens: 50,
      temperature: 0,
    });
  });

  it("reports cost null for a model without a price, and 0 cached tokens when absent", async () => {
    server.script(completion({ model: "my-local-llama" }));
    const response = await client().complete({ model: "my-local-llama", messages });
    expect(response.usage.costUsd).toBeNull();
    expect(response.usage.cachedInputTokens).toBe(0);
    expect(response.model).toBe("my-local-llama");
  });

  it("uses prices given in options over the built-in table", async () => {
    server.script(completion({ model: "my-local-llama" }));
    const response = await client({
      prices: { "my-local-llama": { input: 1, output: 2 } },
    }).complete({ model: "my-local-llama", messages });
    // 10 in × $1 + 5 out × $2, per million.
    expect(response.usage.costUsd).toBeCloseTo(20 / 1e6, 12);
  });

  it("estimates tokens as ceil(chars / 4) when the provider omits usage", async () => {
    server.script(completion({ content: "Hello there", model: "gpt-4o-mini", usage: null }));
    const response = await client().complete({ model: "gpt-4o-mini", messages });
    const promptCharacters = "You are terse.".length + "Say hello.".length; // 24
    expect(response.usageEstimated).toBe(true);
    expect(response.usage.inputTokens).toBe(Math.ceil(promptCharacters / 4));
    expect(response.usage.outputTokens).toBe(3); // 11 characters
    expect(response.usage.costUsd).not.toBeNull();
  });

  it("falls back to the requested model when the provider reports none", async () => {
    server.script(
      json(200, { choices: [{ index: 0, message: { role: "assistant", content: "hi" } }] }),
    );
    const response = await client().complete({ model: "gpt-4.1-mini", messages });
    expect(response.model).toBe("gpt-4.1-mini");
  });

  it("sends max_tokens when configured for an older compatible server", async () => {
    server.script(completion());
    await client({ maxTokensField: "max_tokens" }).complete({
      model: "m",
      messages,
      maxOutputTokens: 7,
    });
    expect(server.requests[0]?.body).toMatchObject({ max_tokens: 7 });
    expect(server.requests[0]?.body).not.toHaveProperty("max_completion_tokens");
  });
});

describe("createOpenAIModelClient: retries", () => {
  it("honours Retry-After seconds on a 429, then succeeds", async () => {
    server.script(
      json(429, errorBody("Rate limit reached", "rate_limit_exceeded", "requests"), {
        "retry-after": "1",
      }),
      completion(),
    );
    // The real sleep: the wait must actually happen.
    const started = performance.now();
    const response = await client({ sleep: undefined }).complete({
      model: "gpt-4o-mini",
      messages,
    });
    const elapsed = performance.now() - started;

    expect(response.content).toBe("hello");
    expect(server.requests).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.delayMs).toBe(1000);
    expect(retries[0]?.attempt).toBe(1);
    expect(retries[0]?.error.code).toBe("rate_limited");
    expect(retries[0]?.error.retryAfterMs).toBe(1000);
    expect(elapsed).toBeGreaterThanOrEqual(900);
  });

  it("honours retry-after-ms and caps a provider's delay at maxDelayMs", async () => {
    server.script(
      json(503, errorBody("overloaded"), { "retry-after-ms": "250" }),
      json(503, errorBody("overloaded"), { "retry-after": "3600" }),
      completion(),
    );
    await client({ retry: { maxDelayMs: 5000 } }).complete({ model: "m", messages });
    expect(retries.map((info) => info.delayMs)).toEqual([250, 5000]);
  });

  it("throws a 429 at once as rate_limited when retryRateLimits is false", async () => {
    server.script(
      json(429, errorBody("Rate limit reached", "rate_limit_exceeded", "tokens"), {
        "retry-after": "7",
      }),
      completion(),
    );
    const error = await failure(
      client({ retry: { retryRateLimits: false } }).complete({ model: "gpt-4o", messages }),
    );
    expect(error.code).toBe("rate_limited");
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(7000);
    expect(error.status).toBe(429);
    expect(error.attempts).toBe(1);
    expect(server.requests).toHaveLength(1);
    expect(retries).toHaveLength(0);
  });

  it("does not retry a 429 for insufficient quota", async () => {
    server.script(json(429, errorBody("You exceeded your current quota", "insufficient_quota")));
    const error = await failure(client().complete({ model: "gpt-4o", messages }));
    expect(error.code).toBe("quota_exceeded");
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it("retries 500 twice with jittered backoff, then succeeds", async () => {
    server.script(
      json(500, errorBody("internal", null, "server_error")),
      json(500, errorBody("internal", null, "server_error")),
      completion({ content: "third time" }),
    );
    const response = await client({
      random: () => 0.5,
      retry: { baseDelayMs: 100 },
    }).complete({ model: "m", messages });

    expect(response.content).toBe("third time");
    expect(server.requests).toHaveLength(3);
    expect(retries.map((info) => info.error.code)).toEqual(["provider_error", "provider_error"]);
    expect(retries.map((info) => info.error.status)).toEqual([500, 500]);
    // Half of 100 × 2^0 and of 100 × 2^1.
    expect(retries.map((info) => info.delayMs)).toEqual([50, 100]);
  });

  it("tells onRetry the request's analysisId, and never sends it to the provider", async () => {
    server.script(json(500, errorBody("internal", null, "server_error")), completion({}));
    await client().complete({ model: "m", messages, analysisId: "an_retry/3" });
    expect(retries.map((info) => [info.analysisId, info.attempt])).toEqual([["an_retry/3", 1]]);
    for (const request of server.requests) {
      expect(JSON.stringify(request.body)).not.toContain("an_retry");
    }
  });

  it("throws the last error with attempts set when retries are exhausted", async () => {
    server.script(
      json(502, errorBody("bad gateway one")),
      json(503, errorBody("unavailable last")),
    );
    const error = await failure(
      client({ retry: { maxAttempts: 3 } }).complete({ model: "m", messages }),
    );
    expect(error.code).toBe("provider_error");
    expect(error.status).toBe(503);
    expect(error.message).toContain("unavailable last");
    expect(error.attempts).toBe(3);
    expect(error.model).toBe("m");
    expect(server.requests).toHaveLength(3);
    expect(retries.map((info) => info.attempt)).toEqual([1, 2]);
  });

  it("retries a hanging server as a timeout", async () => {
    server.script(hang(), completion({ content: "late but fine" }));
    const response = await client({ timeoutMs: 150 }).complete({ model: "m", messages });
    expect(response.content).toBe("late but fine");
    expect(retries).toHaveLength(1);
    expect(retries[0]?.error.code).toBe("timeout");
    expect(retries[0]?.error.message).toContain(server.baseURL);
    expect(retries[0]?.error.message).toContain("150 ms");
  });

  it("times out a body that stalls after the headers", async () => {
    server.script(headersThenHang());
    const error = await failure(
      client({ timeoutMs: 150, retry: { maxAttempts: 2 } }).complete({ model: "m", messages }),
    );
    expect(error.code).toBe("timeout");
    expect(error.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it("retries a body that is not valid JSON as malformed_response", async () => {
    server.script(raw(200, '{"choices": [ this is not json'), completion({ content: "ok" }));
    const response = await client().complete({ model: "m", messages });
    expect(response.content).toBe("ok");
    expect(retries.map((info) => info.error.code)).toEqual(["malformed_response"]);
  });

  it("retries a body that is not a chat completion as malformed_response", async () => {
    server.script(raw(200, "<html>gateway</html>", "text/html"), json(200, { choices: [] }));
    const error = await failure(
      client({ retry: { maxAttempts: 2 } }).complete({ model: "m", messages }),
    );
    expect(retries[0]?.error.code).toBe("malformed_response");
    expect(retries[0]?.error.message).toContain("<html>gateway</html>");
    expect(error.code).toBe("malformed_response");
    expect(error.attempts).toBe(2);
  });

  it("retries empty content as empty_response", async () => {
    server.script(
      completion({ content: null, finishReason: "length" }),
      completion({ content: "  " }),
      completion({ content: "finally" }),
    );
    const response = await client().complete({ model: "m", messages });
    expect(response.content).toBe("finally");
    expect(retries.map((info) => info.error.code)).toEqual(["empty_response", "empty_response"]);
    expect(retries[0]?.error.message).toContain("length");
  });

  it("reports connection_failed naming the base URL after all attempts on a closed port", async () => {
    const baseURL = `http://127.0.0.1:${await closedPort()}/v1`;
    const error = await failure(
      client({ baseURL, retry: { maxAttempts: 3 } }).complete({ model: "m", messages }),
    );
    expect(error.code).toBe("connection_failed");
    expect(error.retryable).toBe(true);
    expect(error.attempts).toBe(3);
    expect(error.message).toContain(baseURL);
    expect(error.message).toContain("ECONNREFUSED");
    expect(retries).toHaveLength(2);
  });
});

describe("createOpenAIModelClient: final errors", () => {
  it("fails a 400 at once with the provider's message", async () => {
    server.script(
      json(
        400,
        errorBody("This model's maximum context length is 8192 tokens", "context_length_exceeded"),
      ),
      completion(),
    );
    const error = await failure(client().complete({ model: "gpt-4o", messages }));
    expect(error.code).toBe("bad_request");
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(400);
    expect(error.providerCode).toBe("context_length_exceeded");
    expect(error.message).toContain("maximum context length is 8192 tokens");
    expect(error.attempts).toBe(1);
    expect(server.requests).toHaveLength(1);
  });

  it("keeps the message of a compatible server that puts it at the top level", async () => {
    server.script(json(400, { object: "error", message: "max_tokens is too large", code: 400 }));
    const error = await failure(client().complete({ model: "llama", messages }));
    expect(error.code).toBe("bad_request");
    expect(error.message).toContain("max_tokens is too large");
  });

  it("classifies 422 as bad_request with a FastAPI-style detail", async () => {
    server.script(json(422, { detail: "messages: field required" }));
    const error = await failure(client().complete({ model: "llama", messages }));
    expect(error.code).toBe("bad_request");
    expect(error.status).toBe(422);
    expect(error.message).toContain("messages: field required");
    expect(server.requests).toHaveLength(1);
  });

  it("classifies 401 as authentication_failed without retrying", async () => {
    server.script(json(401, errorBody("Incorrect API key provided", "invalid_api_key")));
    const error = await failure(client().complete({ model: "gpt-4o", messages }));
    expect(error.code).toBe("authentication_failed");
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(401);
    expect(error.message).toContain("Incorrect API key provided");
    expect(server.requests).toHaveLength(1);
  });

  it("classifies 404 as model_not_found naming the model", async () => {
    server.script(json(404, errorBody("The model `gpt-9` does not exist", "model_not_found")));
    const error = await failure(client().complete({ model: "gpt-9", messages }));
    expect(error.code).toBe("model_not_found");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('"gpt-9"');
    expect(error.message).toContain(server.baseURL);
    expect(server.requests).toHaveLength(1);
  });
});

describe("createOpenAIModelClient: cancellation", () => {
  it("stops at once when the signal fires during a backoff sleep", async () => {
    server.script(json(500, errorBody("down")));
    const controller = new AbortController();
    const pending = client({
      sleep: undefined, // the real, abortable sleep
      random: () => 0.999,
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      onRetry: (info) => {
        retries.push(info);
        setImmediate(() => controller.abort());
      },
    }).complete({ model: "m", messages, signal: controller.signal });

    const started = performance.now();
    const error = await failure(pending);
    expect(error.code).toBe("cancelled");
    expect(error.retryable).toBe(false);
    expect(error.attempts).toBe(1);
    expect(retries[0]?.delayMs).toBeGreaterThan(50_000);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(server.requests).toHaveLength(1);
  });

  it("stops at once when the signal fires while the server is still thinking", async () => {
    server.script(hang());
    const controller = new AbortController();
    const pending = client({ timeoutMs: 60_000 }).complete({
      model: "m",
      messages,
      signal: controller.signal,
    });
    await server.waitForRequests(1);
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe("cancelled");
    expect(error.attempts).toBe(1);
    expect(retries).toHaveLength(0);
  });

  it("sends nothing when the signal has already fired", async () => {
    server.script(completion());
    const error = await failure(
      client().complete({ model: "m", messages, signal: AbortSignal.abort() }),
    );
    expect(error.code).toBe("cancelled");
    expect(error.attempts).toBe(0);
    expect(server.requests).toHaveLength(0);
  });
});

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const address = probe.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  probe.close();
  await once(probe, "close");
  return address.port;
}
