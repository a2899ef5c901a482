import type { RlmContext } from "../context.js";
import type { Journal } from "../journal.js";
import type { ModelClient } from "../model.js";
import type { EngineOptions } from "../options.js";
import type { RunControl } from "../run-control.js";
import type { SandboxDocument, SandboxFactory } from "../sandbox.js";
import type { SubCallExecutor } from "../sub-call.js";
import type { UsageTracker } from "../usage.js";
import type { DeferredContext } from "./deferred-context.js";
import type { SessionPrelude } from "./session-prelude.js";

/** The services an analysis runs on. */
export interface AnalysisRuntime {
  model: ModelClient;
  sandboxFactory: SandboxFactory;
  journal: Journal;
  /** Carries out sub-calls missing from the journal. Default: in this process. */
  subCalls?: SubCallExecutor;
}

/** What an {@link AnalysisMachine} is created with. */
export interface AnalysisParams {
  /** Stable identity of the analysis: seeds `Date`/`Math.random`, so it must survive resumes. */
  analysisId: string;
  query: string;
  /** The context, or what the machine needs of it until its first cell. */
  context: RlmContext | { deferred: DeferredContext };
  options: EngineOptions;
  runtime: AnalysisRuntime;
  /** 0 for a top-level analysis. */
  depth?: number;
  /** Shared with the parent for nested analyses; created (and owned) otherwise. */
  control?: RunControl;
  /** This analysis's usage; a child of the parent's for nested analyses. */
  usage?: UsageTracker;
  /** A document already loaded by the caller (kept loaded after the analysis). */
  document?: SandboxDocument;
  /**
   * Epoch ms the analysis began, for a resumed analysis: the deadline and the result's
   * `durationMs` count from it.
   */
  startedAt?: number;
  /**
   * Where the REPL's clock starts (epoch ms): when the analysis began, as every run of it
   * sees it (a resume in another process too). Without it the clock starts at an instant
   * of 2024 derived from the analysis id, the same however often it is rebuilt.
   */
  clockStartMs?: number;
  /**
   * True when no run of this analysis can have journaled anything yet (its job's first
   * start): the machine reads nothing from the journal, not even its first turn. Only a
   * caller that knows it may say so; a wrong `true` makes calls be paid again.
   */
  firstRun?: boolean;
  /**
   * For a question of a session: the REPL its earlier questions left (their variables
   * and `history`). The REPL is then seeded by the session, not the analysis.
   */
  session?: SessionPrelude;
}
