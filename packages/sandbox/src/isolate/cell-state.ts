import { createWriter, type OutputWriter } from "./output-writer.js";

/** The running cell's state, shared by the runtime's modules (one cell at a time). */
export interface CellState {
  /** Generation of the cell being run (the host's counter). */
  gen: number;
  /** Generation whose synchronous part has been launched. */
  launchedGen: number;
  finished: boolean;
  error: string | null;
  finalAnswer: string | null;
  finalVia: "FINAL" | "FINAL_VAR" | null;
  /** Sub-calls made so far in this cell: the next one's index. */
  subCallIndex: number;
  /** Sub-calls of this cell not answered yet. */
  pendingSubCalls: number;
  output: OutputWriter;
  outputStarted: boolean;
}

export const cell: CellState = {
  gen: 0,
  launchedGen: 0,
  finished: true,
  error: null,
  finalAnswer: null,
  finalVia: null,
  subCallIndex: 0,
  pendingSubCalls: 0,
  output: createWriter(0),
  outputStarted: false,
};

/** Clears the per-cell state for cell `gen`. */
export function startCell(gen: number, outputLimit: number): void {
  cell.gen = gen;
  cell.finished = false;
  cell.error = null;
  cell.finalAnswer = null;
  cell.finalVia = null;
  cell.subCallIndex = 0;
  cell.pendingSubCalls = 0;
  cell.output = createWriter(outputLimit);
  cell.outputStarted = false;
}
