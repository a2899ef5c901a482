import type { ModelClient, ModelRequest, ModelResponse } from "@rlm/core";
import OpenAI from "openai";
import { AbortedWaitError, abortableSleep, raceWithAbort } from "./abortable-sleep.js";
import { backoffDelayMs } from "./backoff.js";
import { classifyProviderError } from "./classify-provider-error.js";
import { ModelCallError } from "./model-call-error.js";
import { withGate } from "./gated-fetch-init.js";
import { createNodeHttpFetch } from "./node-http-fetch.js";
import { withNormalizedErrorBodies } from "./normalize-error-body.js";
import {
  type OpenAIModelClientOptions,
  type ResolvedOpenAIModelClientOptions,
  resolveOpenAIModelClientOptions,
} from "./openai-model-client-options.js";
import { cachedCostFunction } from "./prices.js";
import { type CompletionReading, readCompletion } from "./read-completion.js";
import { StreamedJsonBody, wantsStreamedBody } from "./streamed-json-body.js";

/** A {@link ModelResponse} that also says whether its token counts are estimates. */
export interface OpenAIModelResponse extends ModelResponse {
  /**
   * True when the provider reported no usage, so `usage` holds estimates: one token per
   * four characters (rounded up) of the prompt messages and of the answer. Cost, when the
   * model has a price, is computed from those estimates.
   */
  usageEstimated: boolean;
}

/** A {@link ModelClient} over an OpenAI-compatible chat completions endpoint. */
export interface OpenAIModelClient extends ModelClient {
  complete(request: ModelRequest): Promise<OpenAIModelResponse>;
  /** Always true: a request's gate is held only while its HTTP exchange is under way. */
  readonly honoursGate: true;
  /** The endpoint this client talks to. */
  readonly baseURL: string;
}

/**
 * Creates a {@link ModelClient} over an OpenAI-compatible endpoint (non-streaming chat
 * completions through the `openai` package, whose own retries are disabled).
 *
 * Each call is retried with exponential backoff and full jitter on 429, 5xx, 408, 409,
 * timeouts, connection failures, malformed bodies and empty completions, honouring
 * `Retry-After` / `retry-after-ms` (capped at `retry.maxDelayMs`). Other 4xx fail at once.
 * An aborted `request.signal` stops the call at once, also mid-request and mid-backoff,
 * with code `cancelled`. Failures are {@link ModelCallError}s; after the last attempt the
 * last error is thrown with `attempts` set.
 *
 * A request's `gate` is acquired just before each attempt's request is written and
 * released once its response body has arrived; the attempt's `timeoutMs` counts from
 * acquisition, and backoff sleeps hold no slot. When acquiring rejects for a reason other
 * than the call's own cancellation (e.g. a budget ran out while it waited), that error is
 * thrown as is, without a retry.
 *
 * @throws InvalidOptionsError (code `invalid_options`) when the options are invalid.
 */
export function createOpenAIModelClient(options: OpenAIModelClientOptions): OpenAIModelClient {
  const resolved = resolveOpenAIModelClientOptions(options);
  const openai = new OpenAI({
    apiKey: resolved.apiKey,
    baseURL: resolved.baseURL,
    // Passed explicitly so the SDK does not fall back to reading the environment.
    organization: resolved.organization,
    project: resolved.project,
    webhookSecret: null,
    // A library never prints; the SDK logs warnings to the console by default.
    logLevel: "off",
    timeout: resolved.timeoutMs,
    maxRetries: 0,
    defaultHeaders: resolved.defaultHeaders,
    fetch: withNormalizedErrorBodies(createNodeHttpFetch()),
  });

  // The table is the client's own merged copy, never changed after this point.
  const costOf = cachedCostFunction(resolved.prices);
  return {
    baseURL: resolved.baseURL,
    honoursGate: true,
    complete: (request) => completeWithRetries(openai, resolved, costOf, request),
  };
}

async function completeWithRetries(
  openai: OpenAI,
  options: ResolvedOpenAIModelClientOptions,
  costOf: (usage: CompletionReading, model: string) => number | null,
  request: ModelRequest,
): Promise<OpenAIModelResponse> {
  const startedAt = performance.now();
  const { retry } = options;
  const sleep = options.sleep ?? abortableSleep;

  for (let attempt = 1; ; attempt += 1) {
    if (request.signal?.aborted) throw cancelledError(request, attempt - 1);

    let error: ModelCallError;
    try {
      const body = await attemptOnce(openai, options, request, attempt);
      const reading = readCompletion(body, {
        model: request.model,
        baseURL: options.baseURL,
        attempts: attempt,
        messages: request.messages,
      });
      // The reported model may be a dated variant with a price of its own; a local server
      // may report a name we cannot price while the requested name is in the table.
      const costUsd = costOf(reading, reading.model) ?? costOf(reading, request.model);
      return {
        content: reading.content,
        model: reading.model,
        usage: {
          inputTokens: reading.inputTokens,
          outputTokens: reading.outputTokens,
          cachedInputTokens: reading.cachedInputTokens,
          costUsd,
        },
        usageEstimated: reading.usageEstimated,
        durationMs: Math.round(performance.now() - startedAt),
      };
    } catch (thrown) {
      if (thrown instanceof GateRefusal) throw thrown.error;
      error =
        thrown instanceof ModelCallError
          ? thrown
          : classifyAttemptError(thrown, options, request, attempt);
    }

    if (error.code === "cancelled") throw error;
    const rateLimitedForCaller = error.code === "rate_limited" && !retry.retryRateLimits;
    if (!error.retryable || rateLimitedForCaller || attempt >= retry.maxAttempts) throw error;

    const delayMs =
      error.retryAfterMs === undefined
        ? backoffDelayMs(attempt, retry, options.random)
        : Math.min(error.retryAfterMs, retry.maxDelayMs);
    options.onRetry?.({ attempt, delayMs, error });
    try {
      // Raced as well, so an injected sleep that ignores the signal cannot delay a cancel.
      await raceWithAbort(sleep(delayMs, request.signal), request.signal);
    } catch (sleepError) {
      if (request.signal?.aborted || sleepError instanceof AbortedWaitError) {
        throw cancelledError(request, attempt);
      }
      throw sleepError;
    }
  }
}

/** The marker this module aborts an attempt with when its own deadline passes. */
class AttemptTimeout extends Error {}

/** Carries the error the request's gate refused a slot with, past the SDK's wrapping. */
class GateRefusal extends Error {
  constructor(readonly error: unknown) {
    super("the model-call gate refused a slot");
  }
}

/**
 * The longest timer node keeps (about 24.8 days): the SDK's own timeout while a gate is
 * in use, so that time spent waiting for a slot is never counted (the attempt's timer,
 * started at acquisition, bounds the exchange instead).
 */
const NO_SDK_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One HTTP request, bounded by `timeoutMs` until the whole body has arrived. The SDK's own
 * `timeout` stops counting once the headers are in, so a server that stalls mid-body would
 * otherwise hang the call for ever. With a gate, the bound starts when the slot is
 * obtained.
 */
async function attemptOnce(
  openai: OpenAI,
  options: ResolvedOpenAIModelClientOptions,
  request: ModelRequest,
  attempt: number,
): Promise<unknown> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const startTimer = () => {
    timer = setTimeout(() => controller.abort(new AttemptTimeout()), options.timeoutMs);
  };
  const forwardAbort = () => controller.abort(request.signal?.reason);
  request.signal?.addEventListener("abort", forwardAbort, { once: true });
  let refusal: GateRefusal | undefined;
  const fields = {
    model: request.model,
    ...(request.maxOutputTokens === undefined
      ? {}
      : { [options.maxTokensField]: request.maxOutputTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  };
  // A large prompt goes out window by window instead of as one JSON string (the SDK sends
  // a body given in the options in place of its own encoding of the params).
  const streamedBody = wantsStreamedBody(request.messages)
    ? StreamedJsonBody.chatCompletion(fields, request.messages)
    : undefined;
  const headers: Record<string, string> = {};
  if (streamedBody) headers["content-type"] = "application/json";
  let requestOptions: OpenAI.RequestOptions = {
    signal: controller.signal,
    ...(streamedBody ? { body: streamedBody } : {}),
  };
  const gate = request.gate;
  if (gate === undefined) {
    startTimer();
  } else {
    // The SDK tells the server its timeout; keep telling it the real one.
    headers["X-Stainless-Timeout"] = String(Math.trunc(options.timeoutMs / 1000));
    requestOptions = {
      ...requestOptions,
      timeout: NO_SDK_TIMEOUT_MS,
      // Not a RequestInit field the SDK knows: it passes it on to our fetch untouched.
      fetchOptions: withGate({
        acquire: async (signal) => {
          try {
            const release = await gate.acquire(signal);
            startTimer();
            return release;
          } catch (error) {
            refusal = new GateRefusal(error);
            throw error;
          }
        },
      }) as OpenAI.RequestOptions["fetchOptions"],
    };
  }
  if (Object.keys(headers).length > 0) requestOptions.headers = headers;
  try {
    const pending = openai.chat.completions.create(
      {
        ...fields,
        messages: request.messages.map((message) => ({
          role: message.role,
          content: message.content,
        })),
      },
      requestOptions,
    );
    // The race guarantees an abort returns now, even if the SDK is still reading a body.
    return (await raceWithAbort(pending, controller.signal)) as unknown;
  } catch (thrown) {
    if (request.signal?.aborted) throw cancelledError(request, attempt);
    // The SDK wraps whatever fetch threw; the gate's own reason must reach the caller.
    if (refusal) throw refusal;
    if (controller.signal.reason instanceof AttemptTimeout) {
      throw classifyProviderError(new OpenAI.APIConnectionTimeoutError(), {
        model: request.model,
        baseURL: options.baseURL,
        attempts: attempt,
        timeoutMs: options.timeoutMs,
      });
    }
    throw thrown;
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", forwardAbort);
  }
}

function classifyAttemptError(
  thrown: unknown,
  options: ResolvedOpenAIModelClientOptions,
  request: ModelRequest,
  attempt: number,
): ModelCallError {
  return classifyProviderError(thrown, {
    model: request.model,
    baseURL: options.baseURL,
    attempts: attempt,
    timeoutMs: options.timeoutMs,
  });
}

function cancelledError(request: ModelRequest, attempts: number): ModelCallError {
  return new ModelCallError("cancelled", "the model call was cancelled", {
    model: request.model,
    attempts,
    retryable: false,
  });
}
