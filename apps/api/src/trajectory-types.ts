import type { FinishReason, TokenUsage, UsageSummary } from "@rlm/core";
import type { AnalysisError, AnalysisProgress, AnalysisStatus } from "@rlm/queue";

/**
 * When a step ran, in milliseconds since the epoch. `startMs` absent: not known (an
 * expired journal). `endMs` absent: still under way.
 */
export interface TrajectoryTiming {
  startMs?: number;
  endMs?: number;
}

/** One root-model turn (`root:<n>` or `root:final`). */
export interface TrajectoryRootTurn extends TrajectoryTiming {
  /** Full journal key (scope prefix included). */
  key: string;
  content: string;
  model: string;
  usage: TokenUsage;
  durationMs: number;
}

/**
 * Where a sub-call is: `queued` (its job waits for a worker), `running` (a worker has
 * it, or its nested analysis has steps), `ok` / `error` (journaled), `cancelled` (the
 * analysis ended before the call was made).
 */
export type SubCallState = "queued" | "running" | "ok" | "error" | "cancelled";

/** The BullMQ job that carried a sub-call (one LM job carries a batch of calls). */
export interface TrajectoryJob {
  /** `rlm-llm` for plain calls, `rlm-root` for nested analyses. */
  queue: string;
  id: string;
  /** Worker that took it last (`processedBy`: `host:pid` unless the worker was named). */
  worker?: string;
  /** Times BullMQ ran the job again after a failed run (a lost worker, an outage). */
  retries: number;
  /** When it was added, taken and finished (ms since the epoch). */
  addedMs: number;
  processedMs?: number;
  finishedMs?: number;
  /** The job's last failure, when it has one. */
  failedReason?: string;
}

/** A `recursiveLm` call; `nested` holds the analysis it ran, below `maxDepth`. */
export interface TrajectorySubCall extends TrajectoryTiming {
  /** Full journal key (scope prefix included). */
  key: string;
  /** 1-based position in its cell's calls, in the order the code issued them. */
  index: number;
  state: SubCallState;
  /** True while the call has no record yet (`queued` or `running`). */
  pending: boolean;
  /** From the record, or from the job while the call is pending. */
  query?: string;
  contextChars?: number;
  answer?: string;
  error?: { code: string; message: string };
  /** Usage including the nested analysis, when finished. */
  usage?: TokenUsage;
  byModel?: Record<string, TokenUsage>;
  calls?: number;
  durationMs?: number;
  /** When the cell issued it (from its job), before it waited for a worker. */
  issuedMs?: number;
  /** Model attempts when the client retried the call. */
  attempts?: number;
  /**
   * Full journal key of an identical earlier call of the same analysis whose answer this
   * one got, without a model call.
   */
  sameAs?: string;
  job?: TrajectoryJob;
  /** The part of the document it covered, as UTF-16 offsets, when it was a slice of it. */
  slice?: { start: number; end: number };
  /** The first words of the text it was given. */
  preview?: string;
  nested?: TrajectoryScope;
}

/** One REPL cell (`cell:<iteration>:<block>`) with the sub-calls its code made. */
export interface TrajectoryCell extends TrajectoryTiming {
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
  /** Its sub-calls (journaled, or known from their jobs), in the order they were issued. */
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
  /** The job that runs this analysis's loop (root turns and cells). */
  job?: TrajectoryJob;
  /** Set while every step so far is done and the next root turn is out: since when. */
  waitingSinceMs?: number;
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

/**
 * Figures computed from the journal and the jobs, so they move as each step is
 * journaled (the record's progress moves at iteration ends).
 */
export interface TrajectoryFigures {
  /** Sub-calls of the top analysis (nested analyses' own calls not counted). */
  subCalls: {
    /** Journaled, answer or error. */
    done: number;
    /** Of those, the ones that ended in an error. */
    failed: number;
    /** Issued so far (journaled, or in a job). */
    started: number;
    /** Issued, not journaled yet. */
    pending: number;
  };
  /** Model calls journaled at every depth: root turns and sub-calls. */
  modelCalls: number;
  /** Tokens and cost of every journaled model call, nested analyses included. */
  usage: UsageSummary;
  /** Workers seen on the analysis's jobs, with the sub-calls each ran. */
  workers: Array<{ name: string; calls: number }>;
}

/** What the viewer shows of an analysis: its record and its journal by iteration. */
export interface Trajectory {
  id: string;
  status: AnalysisStatus;
  terminal: boolean;
  query: string;
  progress: AnalysisProgress;
  figures: TrajectoryFigures;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  /** When the viewer's server built this (ms since the epoch): "now" for running bars. */
  generatedMs: number;
  error?: AnalysisError;
  outcome?: TrajectoryOutcome;
  /**
   * `journal` normally; `result` when the journal is gone (expired) but the record
   * kept a result: cells then come from `replHistory`, without keys or sub-calls.
   */
  source: "journal" | "result";
  root: TrajectoryScope;
}
