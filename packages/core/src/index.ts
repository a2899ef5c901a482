export * from "./machine/analysis-machine.js";
export type * from "./machine/analysis-params.js";
export type * from "./machine/deferred-context.js";
export type {
  ExecutedCell,
  LiveSandbox,
  SessionPrelude,
  SessionQuestion,
} from "./machine/session-prelude.js";
export * from "./concurrency-gate.js";
export * from "./context.js";
export * from "./describe-context.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./group-digits.js";
export * from "./in-process-executor.js";
export * from "./journal.js";
export * from "./model.js";
export * from "./model-call-within.js";
export * from "./options.js";
export * from "./parse-response.js";
export * from "./prompts.js";
export * from "./python-hints.js";
export * from "./result.js";
export * from "./run-control.js";
export * from "./sandbox.js";
export * from "./sub-call.js";
export * from "./usage.js";
export * from "./sub-call-records.js";
export { failSpan, inSpan, SpanAttributes, SpanNames, setUsageAttributes } from "./tracing.js";
export * from "./validate-input.js";
export { schemaValidator } from "./structured/json-schema.js";
export { parseStructuredAnswer, type StructuredAnswer } from "./structured/structured-answer.js";
export {
  completeSubCall,
  type SubCallCompletion,
  type SubCallCompletionInput,
} from "./structured/sub-call-completion.js";
