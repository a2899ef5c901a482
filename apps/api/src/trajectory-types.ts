import type { FinishReason, TokenUsage, UsageSummary } from "@rlm/core";
import type { AnalysisError, AnalysisProgress, AnalysisStatus } from "@rlm/queue";

/** One root-model turn (`root:<n>` or `root:final`). */
export interface TrajectoryRootTurn {
  /** Full journal key (scope prefix included). */
  key: string;
  content: string;
  model: string;
  usage: TokenUsage;
  durationMs: number;
}

/** A `recursiveLm` call; `nested` holds the analysis it ran, below `maxDepth`. */
export interface TrajectorySubCall {
  /** Full journal key (scope prefix included). */
  key: string;
  /**
   * True while the call has no record yet: only its nested analysis has written
   * steps, so query and answer are not known (they are journaled at the end).
   */
  pending: boolean;
  query?: string;
  contextChars?: number;
  answer?: string;
  error?: { code: string; message: string };
  /** Usage including the nested analysis, when finished. */
  usage?: TokenUsage;
  byModel?: Record<string, TokenUsage>;
  calls?: number;
  durationMs?: number;
  nested?: TrajectoryScope;
}

/** One REPL cell (`cell:<iteration>:<block>`) with the sub-calls its code made. */
export interface TrajectoryCell {
  /** Full journal key of the cell record (it may not exist yet: see `pending`). */
  key: string;
  block: number;
  /** True while the cell runs: sub-calls finished but the cell record is not written. */
  pending: boolean;
  code?: string;
  output?: string;
  error?: string;
  final?: { answer: string; via: "FINAL" | "FINAL_VAR" };
  durationMs?: number;
  /** Sub-calls the cell made, as counted by the cell record. */
  subCallCount?: number;
  sandboxLost?: boolean;
  /** Journaled sub-calls, ordered by key (call order within one query/context pair). */
  subCalls: TrajectorySubCall[];
}

/** One root iteration: the model's turn and the cells of its code blocks. */
export interface TrajectoryIteration {
  iteration: number;
  root?: TrajectoryRootTurn;
  cells: TrajectoryCell[];
}

/** The steps of one analysis (the root, or a nested one under a sub-call). */
export interface TrajectoryScope {
  /** Journal key prefix of this scope: "" for the root analysis. */
  prefix: string;
  iterations: TrajectoryIteration[];
  /** The forced last turn at the iteration limit (`root:final`). */
  finalTurn?: TrajectoryRootTurn;
}

/** The outcome of a finished analysis. */
export interface TrajectoryOutcome {
  answer: string;
  finishReason: FinishReason;
  iterations: number;
  totalCalls: number;
  durationMs: number;
  usage: UsageSummary;
  error?: { code: string; message: string; retryable: boolean };
}

/** What the viewer shows of an analysis: its record and its journal by iteration. */
export interface Trajectory {
  id: string;
  status: AnalysisStatus;
  terminal: boolean;
  query: string;
  progress: AnalysisProgress;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  error?: AnalysisError;
  outcome?: TrajectoryOutcome;
  /**
   * `journal` normally; `result` when the journal is gone (expired) but the record
   * kept a result: cells then come from `replHistory`, without keys or sub-calls.
   */
  source: "journal" | "result";
  root: TrajectoryScope;
}
