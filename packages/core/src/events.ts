import type { UsageSummary } from "./result.js";

/** Progress events, emitted synchronously as the analysis advances. */
export type RlmEvent =
  | { type: "iteration_start"; depth: number; iteration: number; maxIterations: number }
  | {
      type: "iteration_end";
      depth: number;
      iteration: number;
      cells: number;
      final: boolean;
      usage: UsageSummary;
    }
  | {
      type: "cell_end";
      depth: number;
      iteration: number;
      block: number;
      durationMs: number;
      error?: string;
      /**
       * True when the cell lost its isolate (a memory limit, a runaway cell): the next
       * cell runs in a new one, rebuilt by replaying the cells before it.
       */
      sandboxLost?: true;
    }
  | {
      type: "subcall_start";
      depth: number;
      id: string;
      query: string;
      contextChars: number;
      /** True when the answer is already in the journal (a replay: no model call). */
      replayed: boolean;
      /** Set when an identical earlier call of the analysis answers it (no model call). */
      sameAs?: string;
    }
  | {
      type: "subcall_end";
      depth: number;
      id: string;
      durationMs: number;
      /** True when the answer came from the journal (no model call made). */
      replayed: boolean;
      /** Set when an identical earlier call of the analysis answered it (no model call). */
      sameAs?: string;
      error?: string;
    }
  | {
      /**
       * A root turn's answer arriving, when root turns are streamed
       * (`streamRootTurns`): the characters received so far. Not journaled.
       */
      type: "root_delta";
      depth: number;
      iteration: number;
      receivedChars: number;
    }
  | RlmReplayEvent;

/**
 * Also emitted: `replay_mismatch`, when a cell re-run from the journal asked for a
 * sub-call its first run did not make (non-deterministic code): the call is made, and
 * this says so.
 */
export type RlmReplayEvent = {
  type: "replay_mismatch";
  depth: number;
  iteration: number;
  block: number;
  code: "replay_mismatch";
  message: string;
};

/** Receives progress events. Must not throw; a throwing listener is ignored. */
export type RlmEventListener = (event: RlmEvent) => void;
