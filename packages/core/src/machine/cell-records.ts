import type { BudgetExceededError } from "../errors.js";
import type { CellRecord, JournalRecord, RootCallRecord, SubCallRecord } from "../journal.js";
import type { CellResult } from "../sandbox.js";

/** A cell taken from its journal record (a cell that lost its isolate: it is not run again). */
export function fromCellRecord(record: CellRecord): CellResult {
  return {
    output: record.output,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.final === undefined ? {} : { final: record.final }),
    durationMs: record.durationMs,
    subCalls: record.subCalls,
    ...(record.unawaitedSubCalls ? { unawaitedSubCalls: record.unawaitedSubCalls } : {}),
    sandboxLost: true,
  };
}

/** The journal record of a cell's outcome. */
export function toCellRecord(
  code: string,
  result: CellResult,
  exhausted: BudgetExceededError | undefined,
): CellRecord {
  return {
    // A budget that stopped the cell (its sandbox lost) stops a replay there too.
    ...(result.sandboxLost && exhausted
      ? { budgetStop: { budget: exhausted.budget, message: exhausted.message } }
      : {}),
    kind: "cell",
    code,
    output: result.output,
    ...(result.error === undefined ? {} : { error: result.error }),
    ...(result.final === undefined ? {} : { final: result.final }),
    durationMs: result.durationMs,
    subCalls: result.subCalls,
    ...(result.unawaitedSubCalls ? { unawaitedSubCalls: result.unawaitedSubCalls } : {}),
    sandboxLost: result.sandboxLost,
  };
}

/** A sub-call's answer, or its failure as the Error the sandboxed code sees. */
export function answerOf(record: SubCallRecord): string {
  if (record.error) throw new Error(`${record.error.code}: ${record.error.message}`);
  return record.answer ?? "";
}

export function asRoot(record: JournalRecord): RootCallRecord {
  if (record.kind !== "root")
    throw new Error(`journal holds a ${record.kind} record where a root call belongs`);
  return record;
}

export function asSub(record: JournalRecord): SubCallRecord {
  if (record.kind !== "sub")
    throw new Error(`journal holds a ${record.kind} record where a sub-call belongs`);
  return record;
}
