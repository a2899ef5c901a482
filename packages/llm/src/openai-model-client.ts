import type { GateRelease, ModelClient, ModelRequest, ModelResponse } from "@rlm/core";
import OpenAI, { APIConnectionTimeoutError } from "openai";
import { AbortedWaitError, abortableSleep, raceWithAbort } from "./abortable-sleep.js";
import { backoffDelayMs } from "./backoff.js";
import { attemptBody, type ChatCall, chatCallOf } from "./chat-request.js";
import { classifyProviderError } from "./classify-provider-error.js";
import {
  type CompletionReading,
  type CompletionSource,
  readCompletion,
  readCompletionStream,
} from "./completion-reading.js";
import { sharedDispatcher } from "./dispatchers.js";
import { ModelCallError } from "./model-call-error.js";
import {
  type OpenAIModelClientOptions,
  type ResolvedOpenAIModelClientOptions,
  resolveOpenAIModelClientOptions,
} from "./openai-model-client-options.js";
import { cachedCostFunction } from "./prices.js";
import {
  FETCH_HOOKS,
  type FetchHooks,
  type FetchOptionsWithHooks,
  undiciFetch,
} from "./undici-fetch.js";

type NonStreamingParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
type SdkFetchOptions = NonNullable<
  NonNullable<Parameters<OpenAI["chat"]["completions"]["create"]>[1]>["fetchOptions"]
>;

/**
 * Hooks as `fetchOptions` of a request: the SDK hands every key of them to `fetch` (ours,
 * which reads this one); its type lists only the `RequestInit` keys it knows.
 */
function sdkFetchOptions(options: FetchOptionsWithHooks): SdkFetchOptions {
  return options as unknown as SdkFetchOptions;
}
type StreamingParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;

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
  /** Always true: a request's gate is held only while its attempt is under way. */
  readonly honoursGate: true;
  /** Always true: `onSent` is called once the request's body starts going out. */
  readonly reportsSent: true;
  /** The endpoint this client talks to. */
  readonly baseURL: string;
  /**
   * Checks that something answers HTTP at the endpoint, the way calls reach it (proxy
   * included): `GET {baseURL}/models` with the key, resolving with the status, whatever it
   * is (401 and 404 count as an answer: the key and the model are reported by the calls
   * themselves). Rejects with the transport's error when nothing answers within
   * `timeoutMs` (an `AbortError` with a `TimeoutError` reason then) or the connection fails.
   */
  probe(timeoutMs: number): Promise<number>;
}

/**
 * Creates a {@link ModelClient} over an OpenAI-compatible endpoint, through the official
 * `openai` SDK (`chat.completions.create`), on the process's keep-alive undici
 * dispatcher (through a proxy when `proxy` says so; see dispatchers.ts and
 * undici-fetch.ts). A request with `onDelta` is streamed (`stream: true`, usage asked
 * for with `stream_options.include_usage`), and `onDelta` sees the text as it arrives.
 *
 * Each call is retried here, not by the SDK (its `maxRetries` is 0): with exponential
 * backoff and full jitter on 429, 5xx, 408, 409, timeouts, connection failures,
 * malformed bodies and empty completions, honouring `Retry-After` / `retry-after-ms`
 * capped at `retry.maxDelayMs` (the SDK waits as long as the provider says), and a 429
 * can be handed to the caller at once (`retry.retryRateLimits: false`, for a queue that
 * pauses as a whole). Other 4xx fail at once; a refused `responseFormat` as
 * `unsupported_response_format`. An aborted `request.signal` stops the call at once,
 * also mid-request and mid-backoff, with code `cancelled`. Failures are
 * {@link ModelCallError}s; after the last attempt the last error is thrown with
 * `attempts` set.
 *
 * A request's `onSent` is called once, when the first attempt's body starts going out.
 *
 * A request's `gate` is acquired before each attempt's request is made and released once
 * its response body has arrived (a streamed one: once the stream has ended); the
 * attempt's `timeoutMs` counts from acquisition, and backoff sleeps hold no slot. When
 * acquiring rejects for a reason other than the call's own cancellation (e.g. a budget
 * ran out while it waited), that error is thrown as is, without a retry.
 *
 * @throws InvalidOptionsError (code `invalid_options`) when the options are invalid.
 */
export function createOpenAIModelClient(options: OpenAIModelClientOptions): OpenAIModelClient {
  const resolved = resolveOpenAIModelClientOptions(options);
  const fetch = undiciFetch(sharedDispatcher(resolved.proxyURL));
  const sdk = new OpenAI({
    apiKey: resolved.apiKey,
    baseURL: resolved.baseURL,
    // Given explicitly (null when unset), so the SDK does not read them from the env.
    organization: resolved.organization,
    project: resolved.project,
    webhookSecret: null,
    defaultHeaders: resolved.defaultHeaders,
    maxRetries: 0,
    timeout: resolved.timeoutMs,
    // A library never prints; given, so OPENAI_LOG is not read either.
    logLevel: "off",
    fetch,
  });
  // The table is the client's own merged copy, never changed after this point.
  const costOf = cachedCostFunction(resolved.prices);
  return {
    baseURL: resolved.baseURL,
    honoursGate: true,
    reportsSent: true,
    complete: (request) => completeWithRetries(sdk, resolved, costOf, request),
    async probe(timeoutMs) {
      const response = await fetch(`${resolved.baseURL.replace(/\/+$/, "")}/models`, {
        headers: { authorization: `Bearer ${resolved.apiKey}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return response.status;
    },
  };
}

async function completeWithRetries(
  sdk: OpenAI,
  options: ResolvedOpenAIModelClientOptions,
  costOf: (usage: CompletionReading, model: string) => number | null,
  request: ModelRequest,
): Promise<OpenAIModelResponse> {
  const startedAt = performance.now();
  const { retry } = options;
  const sleep = options.sleep ?? abortableSleep;
  const call = chatCallOf(request, options, request.onDelta !== undefined);
  // Told once per call, by the first attempt whose request leaves.
  const onSent = request.onSent && onlyOnce(request.onSent);

  for (let attempt = 1; ; attempt += 1) {
    if (request.signal?.aborted) throw cancelledError(request, attempt - 1);

    let error: ModelCallError;
    try {
      const reading = await attemptOnce(sdk, call, options, request, attempt, onSent);
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
      error = classifyProviderError(thrown, {
        model: request.model,
        baseURL: options.baseURL,
        attempts: attempt,
        timeoutMs: options.timeoutMs,
        responseFormat: request.responseFormat !== undefined,
      });
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
 * One request through the SDK, bounded by `timeoutMs` until the whole answer has arrived
 * (a server that stalls mid-body would otherwise hang the call for ever): by the SDK's
 * timeout, and for a stream by a timer of this attempt's. With a gate, the bound starts
 * when the slot is obtained: time spent waiting for a slot is not the provider's.
 *
 * The SDK gets an abort signal of this attempt's own, not the caller's: it adds a
 * listener to the signal it is given and never removes it, and the caller's may be a
 * whole analysis's, shared by thousands of calls.
 */
async function attemptOnce(
  sdk: OpenAI,
  call: ChatCall,
  options: ResolvedOpenAIModelClientOptions,
  request: ModelRequest,
  attempt: number,
  onSent: (() => void) | undefined,
): Promise<CompletionReading> {
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(request.signal?.reason);
  request.signal?.addEventListener("abort", forwardAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let release: GateRelease | undefined;
  try {
    if (request.gate) {
      try {
        release = await request.gate.acquire(request.signal);
      } catch (error) {
        // The gate's own reason (a budget ran out while waiting, say) reaches the caller.
        if (!request.signal?.aborted) throw new GateRefusal(error);
        throw error;
      }
    }
    // The SDK's own timeout (`timeoutMs` too) lasts until `fetch` resolves, which for an
    // answer read whole (undici-fetch.ts) is when its body has arrived; a stream goes on
    // after that, so it gets a deadline of its own.
    if (request.onDelta) {
      timer = setTimeout(() => controller.abort(new AttemptTimeout()), options.timeoutMs);
    }
    const source: CompletionSource = {
      model: request.model,
      baseURL: options.baseURL,
      attempts: attempt,
      messages: request.messages,
    };
    const requestOptions = sdkRequestOptions(call, controller.signal, release, onSent);
    if (request.onDelta) {
      const chunks = await sdk.chat.completions.create(
        call.params as StreamingParams,
        requestOptions,
      );
      return await readCompletionStream(chunks, source, request.onDelta);
    }
    const body: unknown = await sdk.chat.completions.create(
      call.params as NonStreamingParams,
      requestOptions,
    );
    return readCompletion(body, source);
  } catch (thrown) {
    if (thrown instanceof GateRefusal) throw thrown;
    // Checked before what was thrown: the SDK ends a stream without an error on an abort.
    if (request.signal?.aborted) throw cancelledError(request, attempt);
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
    release?.();
    request.signal?.removeEventListener("abort", forwardAbort);
  }
}

/**
 * The SDK's request options of one attempt: its own abort signal, the call's JSON body
 * (made once, chat-request.ts) and, with a gate, the hooks through which our fetch gives
 * the slot back as soon as the answer has arrived (undici-fetch.ts), so the next waiting
 * call can go out while this answer is read.
 */
function sdkRequestOptions(
  call: ChatCall,
  signal: AbortSignal,
  release: GateRelease | undefined,
  onSent: (() => void) | undefined,
) {
  const hooks: FetchHooks = {
    ...(release === undefined ? {} : { onAnswered: release }),
    ...(onSent === undefined ? {} : { onSent }),
  };
  return {
    signal,
    body: attemptBody(call.body),
    headers: call.headers,
    ...(release === undefined && onSent === undefined
      ? {}
      : { fetchOptions: sdkFetchOptions({ [FETCH_HOOKS]: hooks }) }),
  };
}

function onlyOnce(callback: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    callback();
  };
}

function cancelledError(request: ModelRequest, attempts: number): ModelCallError {
  return new ModelCallError("cancelled", "the model call was cancelled", {
    model: request.model,
    attempts,
    retryable: false,
  });
}
