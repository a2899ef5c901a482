import type { JsonValue } from "./context.js";
import type { ChatMessage, TokenUsage } from "./model.js";

/** Why an analysis stopped. */
export type FinishReason = "final" | "max_iterations" | "budget" | "cancelled" | "error";

/** Usage of a whole analysis, with a breakdown per model. */
export interface UsageSummary extends TokenUsage {
  byModel: Record<string, TokenUsage>;
}

/** One executed REPL cell as the result reports it. */
export interface ReplHistoryEntry {
  iteration: number;
  code: string;
  output: string;
  error?: string;
  durationMs: number;
  subCalls: number;
  /** Sub-calls still pending when the cell ended (a forgotten `await`). */
  unawaitedSubCalls?: number;
}

/** The result of an analysis (README, "Use it against a real model"). */
export interface RlmResult {
  /** The answer text; with an output schema, the JSON text of `output`. */
  answer: string;
  /** The validated answer, when the analysis had an output schema and it matched. */
  output?: JsonValue;
  finishReason: FinishReason;
  /** Root iterations run (model turns that were answered with code or text). */
  iterations: number;
  /** Model calls made for the analysis, root and sub-calls at every depth. */
  totalCalls: number;
  replHistory: ReplHistoryEntry[];
  /** The root conversation as the model saw it. */
  messages: ChatMessage[];
  usage: UsageSummary;
  durationMs: number;
  /** Set when `finishReason` is `error` (and for `budget`/`cancelled`, which budget or why). */
  error?: { code: string; message: string; retryable: boolean };
}
