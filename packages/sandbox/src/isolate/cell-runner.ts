import { CELL_FILE_PREFIX, type RawCellSnapshot } from "../isolate-protocol.js";
import { cell, startCell } from "./cell-state.js";
import { reinstallDeterminism, reseed } from "./determinism.js";
import { resetSliceScans } from "./document-slices.js";
import type { HostReference } from "./host-reference.js";
import {
  bareObject,
  ErrorCtor,
  indirectEval,
  ObjectCreate,
  promiseThen,
  ReflectApply,
  RegExpCtor,
  regExpExec,
} from "./intrinsics.js";
import { errorText, inspectBounded } from "./inspect.js";
import { writeLine } from "./printing.js";

/** Runs cells one at a time and reports each one's end to the host. */
export interface CellRunner {
  run(
    gen: number,
    source: string,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    clockBase: number,
  ): void;
  collect(gen: number): RawCellSnapshot;
}

/**
 * A cell runs as the rewritten script's promise: `run` launches it (its synchronous part
 * runs under the host's `timeout`), the runtime tells the host through `doneRef` when the
 * promise settled, and the host then `collect`s output, error and answer.
 */
export function createCellRunner(doneRef: HostReference, outputLimit: number): CellRunner {
  const referenceApplyIgnored = doneRef.applyIgnored;
  const doneOptions = bareObject({ arguments: bareObject({ copy: true }) });

  function finish(gen: number, failed: boolean, value: unknown): void {
    if (gen !== cell.gen || cell.finished) return;
    try {
      if (failed) cell.error = describeThrown(value, gen);
      else if (value !== undefined) writeLine([value]);
    } catch (error) {
      cell.error = describeThrown(error, gen);
    }
    cell.finished = true;
    try {
      ReflectApply(referenceApplyIgnored, doneRef, [undefined, [gen], doneOptions]);
    } catch {
      // The host is gone (disposal); nothing is waiting.
    }
  }

  return {
    run(gen, source, w0, w1, w2, w3, clockBase) {
      startCell(gen, outputLimit);
      resetSliceScans();
      reseed(w0, w1, w2, w3, clockBase);
      reinstallDeterminism();
      let promise: Promise<unknown>;
      try {
        promise = indirectEval(source) as Promise<unknown>;
      } catch (error) {
        cell.launchedGen = gen;
        finish(gen, true, error);
        return;
      }
      cell.launchedGen = gen;
      promiseThen(
        promise,
        (value) => finish(gen, false, value),
        (error) => finish(gen, true, error),
      );
    },
    collect(gen) {
      const output = cell.output;
      const snapshot = ObjectCreate(null) as RawCellSnapshot;
      snapshot.gen = cell.gen;
      snapshot.launched = cell.launchedGen === gen;
      snapshot.finished = cell.finished;
      snapshot.output =
        output.dropped > 0
          ? `${output.text}\n... [output truncated: ${output.dropped} more characters not shown]`
          : output.text;
      snapshot.error = cell.error;
      snapshot.finalAnswer = cell.finalAnswer;
      snapshot.finalVia = cell.finalVia;
      snapshot.pendingSubCalls = cell.pendingSubCalls;
      return snapshot;
    },
  };
}

/** A thrown value as the model sees it, with the cell's line when the stack has it. */
function describeThrown(thrown: unknown, gen: number): string {
  try {
    if (thrown instanceof ErrorCtor) {
      let text = errorText(thrown);
      let stack: unknown;
      try {
        stack = thrown.stack;
      } catch {
        stack = undefined;
      }
      if (typeof stack === "string") {
        const match = regExpExec(new RegExpCtor(`${CELL_FILE_PREFIX}${gen}:(\\d+):\\d+`), stack);
        if (match !== null) text += ` (line ${match[1]})`;
      }
      return text;
    }
    return `Uncaught ${inspectBounded(thrown, 1000)}`;
  } catch {
    return "Uncaught exception (it could not be described)";
  }
}
