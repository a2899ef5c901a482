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
}

/** The result of an analysis (DESIGN.md, "Result object"). */
export interface RlmResult {
  answer: string;
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
