import { InvalidOptionsError } from "@rlm/core";
import type { Sleep } from "./abortable-sleep.js";
import type { ModelCallError } from "./model-call-error.js";
import { DEFAULT_PRICES, type PriceTable } from "./prices.js";
import { type ProxySettings, proxyFor } from "./proxy-settings.js";

/** OpenAI's API, used when no `baseURL` is given. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

/** How the client retries a failed call. */
export interface RetryOptions {
  /** Attempts in total, the first included (default 6). 1 disables retries. */
  maxAttempts?: number;
  /** Cap of the first backoff delay, doubled per attempt (default 500). */
  baseDelayMs?: number;
  /** No backoff delay, not even one the provider asked for, exceeds this (default 30000). */
  maxDelayMs?: number;
  /**
   * Whether to retry 429s here (default true). When false a 429 is thrown at once as
   * `rate_limited` (retryable, with `retryAfterMs` when the provider sent it), for a caller
   * that pauses a whole queue instead of one call.
   */
  retryRateLimits?: boolean;
}

/** What {@link OpenAIModelClientOptions.onRetry} is told before each backoff sleep. */
export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** How long the client will wait before the next attempt. */
  delayMs: number;
  error: ModelCallError;
  /** The request's `analysisId`, when it had one. */
  analysisId?: string;
}

/** Options of {@link createOpenAIModelClient}. The client never reads the environment. */
export interface OpenAIModelClientOptions {
  /** Required. Local servers that ignore keys still need a non-empty placeholder. */
  apiKey: string;
  /** An OpenAI-compatible endpoint including its `/v1` (default OpenAI's). */
  baseURL?: string;
  /** Per-attempt limit until the whole answer has arrived (default 120000). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Prices merged over {@link DEFAULT_PRICES}, for models it lacks or prices it has wrong. */
  prices?: PriceTable;
  /** Headers sent with every request (e.g. for a gateway). */
  defaultHeaders?: Record<string, string>;
  /** OpenAI organization and project ids, sent as headers when given. */
  organization?: string;
  project?: string;
  /**
   * Which request field carries `maxOutputTokens` (default `max_completion_tokens`, which
   * OpenAI's reasoning models require; some older compatible servers only know
   * `max_tokens`).
   */
  maxTokensField?: "max_completion_tokens" | "max_tokens";
  /**
   * Proxies to reach the endpoint through (`HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` in
   * the CLI's environment). Default: a direct connection.
   */
  proxy?: ProxySettings;
  /** Called before each backoff sleep, e.g. to log. An exception here fails the call. */
  onRetry?: (info: RetryInfo) => void;
  /** Test seam: the backoff sleep. Must honour the signal or the call waits it out. */
  sleep?: Sleep;
  /** Test seam: the jitter source, numbers in [0, 1). */
  random?: () => number;
}

/** Options with every default applied. */
export interface ResolvedOpenAIModelClientOptions {
  apiKey: string;
  baseURL: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  prices: PriceTable;
  defaultHeaders: Record<string, string>;
  organization: string | null;
  project: string | null;
  maxTokensField: "max_completion_tokens" | "max_tokens";
  /** The proxy URL requests to `baseURL` go through, if any (see `proxyFor`). */
  proxyURL: string | undefined;
  onRetry: ((info: RetryInfo) => void) | undefined;
  sleep: Sleep | undefined;
  random: () => number;
}

/**
 * Checks the options once, at construction, and applies defaults.
 *
 * @throws InvalidOptionsError (code `invalid_options`) naming the offending option.
 */
export function resolveOpenAIModelClientOptions(
  options: OpenAIModelClientOptions,
): ResolvedOpenAIModelClientOptions {
  if (typeof options?.apiKey !== "string" || options.apiKey.trim() === "") {
    throw new InvalidOptionsError(
      "apiKey is required: pass the provider's API key (any non-empty string for a local server that ignores it)",
    );
  }
  const baseURL = options.baseURL ?? OPENAI_BASE_URL;
  if (!isHttpUrl(baseURL)) {
    throw new InvalidOptionsError(`baseURL must be an http(s) URL, got "${baseURL}"`);
  }
  const retry: Required<RetryOptions> = {
    maxAttempts: options.retry?.maxAttempts ?? 6,
    baseDelayMs: options.retry?.baseDelayMs ?? 500,
    maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
    retryRateLimits: options.retry?.retryRateLimits ?? true,
  };
  const timeoutMs = options.timeoutMs ?? 120_000;
  requireInteger("retry.maxAttempts", retry.maxAttempts, 1);
  requireInteger("retry.baseDelayMs", retry.baseDelayMs, 0);
  requireInteger("retry.maxDelayMs", retry.maxDelayMs, 0);
  requireInteger("timeoutMs", timeoutMs, 1);
  for (const name of ["httpsProxy", "httpProxy"] as const) {
    const url = options.proxy?.[name];
    if (url !== undefined && url !== "" && !isHttpUrl(url)) {
      throw new InvalidOptionsError(`proxy.${name} must be an http(s) URL, got "${url}"`);
    }
  }

  return {
    apiKey: options.apiKey,
    baseURL,
    timeoutMs,
    retry,
    prices: { ...DEFAULT_PRICES, ...options.prices },
    defaultHeaders: { ...options.defaultHeaders },
    organization: options.organization ?? null,
    project: options.project ?? null,
    maxTokensField: options.maxTokensField ?? "max_completion_tokens",
    proxyURL: proxyFor(new URL(baseURL), options.proxy),
    onRetry: options.onRetry,
    sleep: options.sleep,
    random: options.random ?? Math.random,
  };
}

function isHttpUrl(url: string): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
}

function requireInteger(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionsError(`${name} must be an integer ≥ ${minimum}, got ${value}`);
  }
}
