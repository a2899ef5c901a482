// The engine's public surface, name by name (no `export *`): what the queue, the facade,
// the apps and the tests use.
export { AnalysisMachine, type StepOutcome } from "./machine/analysis-machine.js";
export type { AnalysisParams, AnalysisRuntime } from "./machine/analysis-params.js";
export type { DeferredContext } from "./machine/deferred-context.js";
export type {
  ExecutedCell,
  LiveSandbox,
  SessionPrelude,
  SessionQuestion,
} from "./machine/session-prelude.js";
export {
  checkedGate,
  type ConcurrencyGate,
  FifoGate,
  type GateRelease,
} from "./concurrency-gate.js";
export { type JsonObject, type JsonValue, type RlmContext } from "./context.js";
export { type ContextDescription, describeContext } from "./describe-context.js";
export {
  BudgetExceededError,
  CancelledError,
  DocumentLoadError,
  InvalidOptionsError,
  ReplayMismatchError,
  RlmError,
  toRlmError,
} from "./errors.js";
export { type RlmEvent, type RlmEventListener, type RlmReplayEvent } from "./events.js";
export { groupDigits } from "./group-digits.js";
export { type InProcessExecutorOptions, InProcessSubCallExecutor } from "./in-process-executor.js";
export {
  type CellRecord,
  type Journal,
  journalKeys,
  type JournalRecord,
  MemoryJournal,
  type RootCallRecord,
  type SubCallRecord,
} from "./journal.js";
export {
  type ChatMessage,
  type JsonSchemaResponseFormat,
  type ModelClient,
  type ModelDelta,
  type ModelRequest,
  type ModelResponse,
  type ResponseFormat,
  type TokenUsage,
} from "./model.js";
export { callModelWithin } from "./model-call-within.js";
export {
  DEFAULT_LIMITS,
  type EngineOptions,
  type EngineOptionsInput,
  resolveEngineOptions,
  type RlmBudgets,
} from "./options.js";
export { type OtherFence, type ParsedResponse, parseResponse } from "./parse-response.js";
export {
  FINAL_ANSWER_PROMPT,
  FINAL_MENTIONED_NOTE,
  FINAL_WITH_CODE_NOTE,
  jsonAnswerInstruction,
  missingVariableNote,
  NO_CODE_NOTE,
  OTHER_FENCE_NOTE,
  outputSchemaMismatchNote,
  QUERY_CLOSE,
  QUERY_OPEN,
  replFeedbackPrompt,
  ROOT_SYSTEM_PROMPT,
  rootUserPrompt,
  SUB_SYSTEM_PROMPT,
  subCallMessages,
  TEXT_CLOSE,
  TEXT_OPEN,
  unawaitedNote,
} from "./prompts.js";
export { pythonHint } from "./python-hints.js";
export {
  type FinishReason,
  type ReplHistoryEntry,
  type RlmResult,
  type UsageSummary,
} from "./result.js";
export { RunControl, SUB_CONTEXT_CHARS_IN_FLIGHT } from "./run-control.js";
export {
  type CellInput,
  type CellResult,
  type DocumentRange,
  type Sandbox,
  type SandboxDocument,
  type SandboxFactory,
  type SandboxLimits,
  type SandboxOptions,
  type SubCallHandler,
  type SubCallRequest,
} from "./sandbox.js";
export {
  subCallArgumentsHash,
  type SubCallExecutor,
  type SubCallTask,
  subContextText,
} from "./sub-call.js";
export { addUsage, emptyUsage, UsageTracker } from "./usage.js";
export {
  answeredSubCall,
  completedSubCall,
  failedSubCall,
  nestedSubCall,
  NO_USAGE,
  type SubCallIdentity,
} from "./sub-call-records.js";
export { failSpan, inSpan, SpanAttributes, SpanNames, setUsageAttributes } from "./tracing.js";
export { validateAnalysisInput, validateContext } from "./validate-input.js";
export { schemaValidator } from "./structured/json-schema.js";
export { parseStructuredAnswer, type StructuredAnswer } from "./structured/structured-answer.js";
export {
  completeSubCall,
  type SubCallCompletion,
  type SubCallCompletionInput,
} from "./structured/sub-call-completion.js";
