// The facade's public surface, name by name (no `export *` of the engine): what a service
// running analyses in its process needs, and the types of what it may plug in (a model
// client, a sandbox factory, a journal). The engine's machinery (the machine, prompts,
// run control, sub-call records) stays `@rlm/core`'s, free to change.

// Running analyses.
export { type CompletionOptions, Rlm, type RlmOptions, rlmCompletion } from "./rlm.js";
export { RlmSession, type SessionCompletionOptions } from "./rlm-session.js";

// What comes back, and what is told along the way.
export {
  type FinishReason,
  type ReplHistoryEntry,
  type RlmEvent,
  type RlmEventListener,
  type RlmReplayEvent,
  type RlmResult,
  type TokenUsage,
  type UsageSummary,
} from "@rlm/core";

// Inputs and options.
export {
  DEFAULT_LIMITS,
  type EngineOptionsInput,
  type JsonObject,
  type JsonValue,
  type RlmBudgets,
  type RlmContext,
  type SandboxLimits,
} from "@rlm/core";

// Errors: each carries a `code` and a `retryable` flag.
export {
  BudgetExceededError,
  CancelledError,
  DocumentLoadError,
  InvalidOptionsError,
  ReplayMismatchError,
  RlmError,
  toRlmError,
} from "@rlm/core";

// What may be plugged in: the model client, the REPL, the journal (durability).
export {
  type CellRecord,
  type ChatMessage,
  type Journal,
  type JournalRecord,
  MemoryJournal,
  type ModelClient,
  type ModelDelta,
  type ModelRequest,
  type ModelResponse,
  type ResponseFormat,
  type RootCallRecord,
  type SandboxFactory,
  type SubCallRecord,
} from "@rlm/core";
export {
  createOpenAIModelClient,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  priceFor,
} from "@rlm/llm";
export { createIsolatedVmSandboxFactory } from "@rlm/sandbox";

// Tracing: the names of the spans and attributes an analysis records (OpenTelemetry).
export { SpanAttributes, SpanNames } from "@rlm/core";
