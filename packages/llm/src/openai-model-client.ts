import type { ModelClient, ModelRequest, ModelResponse } from "@rlm/core";
import { APIConnectionTimeoutError } from "openai";
import { AbortedWaitError, abortableSleep, raceWithAbort } from "./abortable-sleep.js";
import { backoffDelayMs } from "./backoff.js";
import { classifyProviderError } from "./classify-provider-error.js";
import { ModelCallError } from "./model-call-error.js";
import { type ChatEndpoint, chatEndpoint, postChatCompletion } from "./chat-endpoint.js";
import {
  type OpenAIModelClientOptions,
  type ResolvedOpenAIModelClientOptions,
  resolveOpenAIModelClientOptions,
} from "./openai-model-client-options.js";
import { cachedCostFunction } from "./prices.js";
import { type CompletionReading, readCompletion } from "./read-completion.js";

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
 * Creates a {@link ModelClient} over an OpenAI-compatible endpoint: non-streaming chat
 * completions posted over node:http keep-alive connections (`http-exchange.ts` says why
 * not through the `openai` SDK, whose error classes are still what failures are made of).
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
  const endpoint = chatEndpoint(resolved);
  // The table is the client's own merged copy, never changed after this point.
  const costOf = cachedCostFunction(resolved.prices);
  return {
    baseURL: resolved.baseURL,
    honoursGate: true,
    complete: (request) => completeWithRetries(endpoint, resolved, costOf, request),
  };
}

async function completeWithRetries(
  endpoint: ChatEndpoint,
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
      const body = await attemptOnce(endpoint, options, request, attempt);
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
        attempts: attempt,
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
    options.onRetry?.({ attempt, delayMs, error, analysisId: request.analysisId });
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

/** Carries the error the request's gate refused a slot with, apart from the call's own. */
class GateRefusal extends Error {
  constructor(readonly error: unknown) {
    super("the model-call gate refused a slot");
  }
}

/**
 * One HTTP request, bounded by `timeoutMs` until the whole body has arrived (a server
 * that stalls mid-body would otherwise hang the call for ever). With a gate, the bound
 * starts when the slot is obtained: time spent waiting for a slot is not the provider's.
 */
async function attemptOnce(
  endpoint: ChatEndpoint,
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
  const gate = request.gate;
  if (!gate) startTimer();
  try {
    const pending = postChatCompletion(endpoint, {
      fields: {
        model: request.model,
        ...(request.maxOutputTokens === undefined
          ? {}
          : { [options.maxTokensField]: request.maxOutputTokens }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      },
      messages: request.messages,
      signal: controller.signal,
      ...(gate
        ? {
            gate: {
              acquire: async (signal?: AbortSignal) => {
                try {
                  const release = await gate.acquire(signal);
                  startTimer();
                  return release;
                } catch (error) {
                  refusal = new GateRefusal(error);
                  throw error;
                }
              },
            },
          }
        : {}),
    });
    // The exchange rejects at once on an abort, whatever it is doing.
    return await pending;
  } catch (thrown) {
    if (request.signal?.aborted) throw cancelledError(request, attempt);
    // The gate's own reason (a budget ran out while waiting, say) reaches the caller.
    if (refusal) throw refusal;
    if (controller.signal.reason instanceof AttemptTimeout) {
      throw classifyProviderError(new APIConnectionTimeoutError(), {
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
