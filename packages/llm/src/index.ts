export { abortableSleep, raceWithAbort, type Sleep } from "./abortable-sleep.js";
export { type BackoffOptions, backoffDelayMs } from "./backoff.js";
export { classifyProviderError, type ProviderErrorContext } from "./classify-provider-error.js";
export { estimateTokens } from "./estimate-tokens.js";
export {
  ModelCallError,
  type ModelCallErrorCode,
  type ModelCallErrorDetails,
} from "./model-call-error.js";
export {
  createOpenAIModelClient,
  type OpenAIModelClient,
  type OpenAIModelResponse,
} from "./openai-model-client.js";
export {
  OPENAI_BASE_URL,
  type OpenAIModelClientOptions,
  type RetryInfo,
  type RetryOptions,
} from "./openai-model-client-options.js";
export { bypassesProxy, type ProxySettings, proxyFor } from "./proxy-settings.js";
export {
  type BillableUsage,
  computeCost,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  priceFor,
} from "./prices.js";
export { type HeaderReader, parseRetryAfterMs } from "./retry-after.js";
