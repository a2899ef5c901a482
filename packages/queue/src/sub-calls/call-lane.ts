import type { JsonObject, SubCallRecord } from "@rlm/core";
import type { AnswerListener, Listening } from "../answers/answer-bus.js";

/** What every plain call of one run shares: its analysis, model and depth. */
export interface CallHeader {
  analysisId: string;
  model: string;
  maxOutputTokens?: number;
  depth: number;
}

/** One plain model call (`recursiveLm` at the last depth), ready to be made. */
export interface PlainCall {
  /** The analysis-wide journal key (the run's scope included): where its answer goes. */
  journalKey: string;
  query: string;
  /** The sub-context text ("" for none). */
  text: () => string | Promise<string>;
  /** The JSON Schema the answer must match (`recursiveLm(q, text, { schema })`). */
  schema?: JsonObject;
}

/**
 * The one interface between a root run and the LM side of its worker process: the root
 * side (sub-calls/) uses it, the LM side (llm-job/) implements it, and neither imports
 * the other.
 *
 * A plain call runs in the run's own process while that process has a call slot free;
 * the calls it has no slot for go to `rlm-llm` as LM jobs, which whichever worker has a
 * slot free takes (this one too, once its calls end). Either way the answer is journaled
 * before the run gets it, and it gets it live: from this process, or over the analysis's
 * Redis channel.
 */
export interface CallLane {
  /**
   * Makes `call` in this process if it has a call slot free, or if LM jobs wait in the
   * queue already (no worker has a slot for them either: it waits here for one): its
   * record once journaled (rejects if the analysis was stopped meanwhile). Undefined
   * when the call should go to the queue.
   */
  runHere(header: CallHeader, call: PlainCall): Promise<SubCallRecord> | undefined;
  /** Registers a run for the live answers of its analysis (see `AnswerBus`). */
  listen(analysisId: string, listener: AnswerListener): Listening;
}
