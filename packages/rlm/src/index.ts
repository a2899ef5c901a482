export * from "@rlm/core";
export {
  createOpenAIModelClient,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  priceFor,
} from "@rlm/llm";
export { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
export { type CompletionOptions, Rlm, type RlmOptions, rlmCompletion } from "./rlm.js";
export { RlmSession, type SessionCompletionOptions } from "./rlm-session.js";
