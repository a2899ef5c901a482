import type { OpenAIModelClientOptions, ProxySettings } from "@rlm/llm";
import type { CliEnv } from "./env.js";
import type { RunSettings } from "./run-settings.js";

/**
 * The proxies of model calls from the environment: `https_proxy` / `HTTPS_PROXY`,
 * `http_proxy` / `HTTP_PROXY` and `no_proxy` / `NO_PROXY`, the lower-case name first (as
 * curl and undici read them). Undefined when none is set.
 */
export function proxyFromEnv(env: CliEnv): ProxySettings | undefined {
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY;
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
  const noProxy = env.no_proxy ?? env.NO_PROXY;
  if (httpsProxy === undefined && httpProxy === undefined) return undefined;
  return {
    ...(httpsProxy === undefined ? {} : { httpsProxy }),
    ...(httpProxy === undefined ? {} : { httpProxy }),
    ...(noProxy === undefined ? {} : { noProxy }),
  };
}

/** Where and how the CLI's model calls go: the endpoint part of {@link RunSettings}. */
export type ModelEndpoint = Pick<
  RunSettings,
  "apiKey" | "baseURL" | "prices" | "timeoutMs" | "proxy"
>;

/**
 * Options of `createOpenAIModelClient` for the CLI's endpoint. `retryRateLimits: false`
 * for a queue worker's LM role: a 429 then pauses the whole queue instead of every call
 * retrying on its own (what `startRlmWorker` does with the client it makes itself).
 */
export function modelClientOptions(
  endpoint: ModelEndpoint,
  retryRateLimits = true,
): OpenAIModelClientOptions {
  return {
    apiKey: endpoint.apiKey,
    baseURL: endpoint.baseURL,
    ...(endpoint.prices === undefined ? {} : { prices: endpoint.prices }),
    ...(endpoint.timeoutMs === undefined ? {} : { timeoutMs: endpoint.timeoutMs }),
    ...(endpoint.proxy === undefined ? {} : { proxy: endpoint.proxy }),
    retry: { retryRateLimits },
  };
}

/** `settings` with the proxies' credentials masked, for logs. */
export function proxyForLog(settings: ProxySettings): ProxySettings {
  const mask = (url: string | undefined) => {
    if (url === undefined || !URL.canParse(url)) return url;
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "***";
    parsed.password = "";
    return parsed.href;
  };
  const httpsProxy = mask(settings.httpsProxy);
  const httpProxy = mask(settings.httpProxy);
  return {
    ...settings,
    ...(httpsProxy === undefined ? {} : { httpsProxy }),
    ...(httpProxy === undefined ? {} : { httpProxy }),
  };
}
