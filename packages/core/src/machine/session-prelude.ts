import type { Journal } from "../journal.js";
import type { Sandbox, SubCallHandler } from "../sandbox.js";

/** A cell that ran without losing its isolate: what a rebuild of the REPL replays. */
export interface ExecutedCell {
  code: string;
  cellKey: string;
}

/** An earlier question of a session, as a later question needs it. */
export interface SessionQuestion {
  query: string;
  answer: string;
  /** Its cells that ran without losing the isolate, in order. */
  cells: ExecutedCell[];
  /** Its journal: the answers its cells' sub-calls got, for a rebuild of the REPL. */
  journal: Journal;
}

/**
 * A sandbox kept open between the questions of a session (in process). Its sub-calls go
 * to whichever question runs now: `dispatch` is re-pointed as each question takes it.
 */
export interface LiveSandbox {
  sandbox: Sandbox;
  dispatch: SubCallHandler;
}

/**
 * What a question of a session starts from: the REPL the earlier questions left (their
 * variables, and `history`: their queries and answers).
 */
export interface SessionPrelude {
  /** Seeds the REPL's `Date` and `Math.random` for every question of the session. */
  seed: string;
  /** This question's place in the session, from 0: its cells' keys start with `q<n>/`. */
  position: number;
  /** The earlier questions, oldest first: replayed (answers from their journals) to rebuild the REPL. */
  earlier: SessionQuestion[];
  /** The variables the earlier questions left defined, as the model is told. */
  variables: string[];
  /** The open sandbox the previous question left, if any; rebuilt from `earlier` when missing or lost. */
  live?: LiveSandbox;
}

/** The cell that sets `history` for question `position`: the earlier queries and answers. */
export function historyCell(prelude: SessionPrelude): ExecutedCell {
  const history = prelude.earlier.map(({ query, answer }) => ({ query, answer }));
  return {
    code: `history = ${JSON.stringify(history)};`,
    cellKey: `q${prelude.position}/history`,
  };
}
