/** The state of the current cell as the isolate reports it (`control("collect", gen)`, a `RawCellSnapshot`). */
export interface CellSnapshot {
  /** Generation of the cell the isolate is on. */
  gen: number;
  /** The asked-for cell got past its synchronous part (false: it was stopped in it). */
  launched: boolean;
  /** The cell's promise settled. */
  finished: boolean;
  /** Captured output, already capped and carrying the truncation notice. */
  output: string;
  /** The error text, when the cell failed. */
  error: string | undefined;
  final: { answer: string; via: "FINAL" | "FINAL_VAR" } | undefined;
  /** Sub-calls started and not answered when the cell ended (a forgotten `await`). */
  pendingSubCalls: number;
}

/**
 * Validates what came out of the isolate. The runtime builds it, but the model's code
 * shares that isolate, so nothing from it is trusted to have the right shape.
 */
export function parseCellSnapshot(raw: unknown): CellSnapshot | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const value = raw as Record<string, unknown>;
  if (typeof value.gen !== "number" || typeof value.output !== "string") return undefined;
  const via = value.finalVia;
  const final =
    typeof value.finalAnswer === "string" && (via === "FINAL" || via === "FINAL_VAR")
      ? { answer: value.finalAnswer, via: via as "FINAL" | "FINAL_VAR" }
      : undefined;
  return {
    gen: value.gen,
    launched: value.launched === true,
    finished: value.finished === true,
    output: value.output,
    error: typeof value.error === "string" ? value.error : undefined,
    final,
    pendingSubCalls:
      typeof value.pendingSubCalls === "number" && value.pendingSubCalls > 0
        ? Math.floor(value.pendingSubCalls)
        : 0,
  };
}
