export * from "@rlm/core";
export { createOpenAIModelClient } from "@rlm/llm";
export { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
export { type CompletionOptions, Rlm, type RlmOptions, rlmCompletion } from "./rlm.js";
