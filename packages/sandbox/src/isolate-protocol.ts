/**
 * What crosses between the host and the runtime inside the isolate: the shapes both
 * sides agree on. Types only: this file is compiled into both the host package and the
 * isolate's bundle.
 */

/** Prefix of the script name each cell runs under (`//# sourceURL=rlm-cell-N`). */
export const CELL_FILE_PREFIX = "rlm-cell-";

/**
 * How a sub-call's sub-context travels to the host: `none` (omitted), `string` (the
 * text), `json` (JSON text of any other value) or `slice` (`[start, end]` of the
 * document's text, not copied).
 */
export type SubContextKind = "none" | "string" | "json" | "slice";

/**
 * The host's sub-call function as the isolate calls it:
 * `(gen, index, query, kind, payload, schemaJson)`; `schemaJson` is "" without a schema.
 * It always resolves, with the JSON text of a {@link SubCallEnvelope}: a rejection
 * would also be unhandled in Node.
 */
export type HostSubCallArguments = [
  gen: number,
  index: number,
  query: string,
  kind: SubContextKind,
  payload: string | [number, number],
  schemaJson: string,
];

/** A sub-call's outcome as the host sends it back. */
export type SubCallEnvelope = { ok: true; value: string } | { ok: false; error: string };

/** What the bootstrap receives (as closure arguments, never as globals). */
export interface RuntimeBootArguments {
  /** Output cap per cell, in characters. */
  outputLimit: number;
  /** Largest FINAL answer, in characters. */
  answerLimit: number;
  /** Most sub-calls a cell may have pending at once. */
  pendingSubCallLimit: number;
  /** Largest query plus sub-context of one sub-call, in characters. */
  subCallCharsLimit: number;
}

/** The cell's state as `control("collect", gen)` reports it. Untrusted on the host. */
export interface RawCellSnapshot {
  gen: number;
  launched: boolean;
  finished: boolean;
  output: string;
  error: string | null;
  finalAnswer: string | null;
  finalVia: "FINAL" | "FINAL_VAR" | null;
  /** Sub-calls the cell started and had not seen answered when it ended. */
  pendingSubCalls: number;
}
