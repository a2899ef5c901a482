import { BudgetExceededError, ReplayMismatchError, RlmError } from "../errors.js";
import { type CellRecord, journalKeys } from "../journal.js";
import type { RunControl } from "../run-control.js";
import type { CellResult } from "../sandbox.js";
import { failSpan, inSpan, SpanAttributes, SpanNames } from "../tracing.js";
import type { AnalysisProgress } from "./analysis-progress.js";
import { fromCellRecord, toCellRecord } from "./cell-records.js";
import type { JournalPolicy } from "./journal-policy.js";
import type { SandboxSession } from "./sandbox-session.js";
import type { Transcript } from "./transcript.js";
import { TurnFeedback } from "./turn-feedback.js";

/** What the cell runs need of their analysis. */
export interface CellRunServices {
  journal: JournalPolicy;
  session: SandboxSession;
  control: RunControl;
  /** Prefix of this analysis's cell keys: `q<n>/` for a session's question n, else "". */
  cellKeyPrefix: string;
  /** The iteration the cells belong to, and the history they are added to. */
  transcript: Readonly<Pick<Transcript, "iteration" | "history">>;
  progress: AnalysisProgress;
}

/**
 * The analysis's cells: each run in the REPL (or, when it lost its isolate in an earlier
 * run, taken from the journal), then journaled, added to the history and told to the
 * listeners.
 */
export class CellRuns {
  readonly #services: CellRunServices;
  /** True once the machine was released: the run is over here, whatever its steps still do. */
  #released = false;

  constructor(services: CellRunServices) {
    this.#services = services;
  }

  /** The machine was released (`dispose`): a cell that ends from now on is nobody's. */
  release(): void {
    this.#released = true;
  }

  /**
   * Runs block `block` of this iteration's reply (the turns' and the last reply's cells
   * alike), then journals it, adds it to the history and tells the listeners.
   */
  run(code: string, block: number): Promise<CellResult> {
    const { iteration } = this.#services.transcript;
    const cellKey = `${this.#services.cellKeyPrefix}${iteration}.${block}`;
    const attributes = {
      ...this.#services.progress.spanAttributes(),
      [SpanAttributes.iteration]: iteration,
      [SpanAttributes.cellBlock]: block,
      [SpanAttributes.cellKey]: cellKey,
    };
    return inSpan(SpanNames.cell, attributes, async (span) => {
      const result = await this.#runIn(code, block, cellKey);
      if (span.isRecording()) {
        span.setAttribute(SpanAttributes.subCalls, result.subCalls);
        if (result.sandboxLost) span.setAttribute(SpanAttributes.sandboxLost, true);
        // The model's code failed: the analysis goes on (the model reads the error).
        if (result.error !== undefined) failSpan(span, new Error(result.error));
      }
      return result;
    });
  }

  async #runIn(code: string, block: number, cellKey: string): Promise<CellResult> {
    const { journal, session, transcript, progress } = this.#services;
    // A cell that lost its isolate when it first ran is not run again on replay: its
    // outcome (timeouts depend on timing) is taken from the journal, so a resumed
    // analysis follows the same path as the original.
    const journaled = await journal.lookUp(journalKeys.cell(transcript.iteration, block));
    let result: CellResult;
    if (journaled?.kind === "cell" && journaled.sandboxLost) {
      result = fromCellRecord(journaled);
      this.#replayBudgetStop(journaled);
    } else {
      const executed = await session.execute(code, cellKey);
      // Released while the cell ran (its run gave its job up, to be rebuilt elsewhere): the
      // cell lost its sandbox to that, not to its own code, so nothing of it is journaled;
      // the rebuilt run runs it again, its sub-calls answered from the journal.
      if (this.#released) throw new RunReleasedError();
      result = TurnFeedback.withHints(code, executed.result);
      // The cell ran to its end before (it is journaled), yet asked for a call the
      // journal does not hold: its code is not deterministic. Detected and reported.
      if (journaled?.kind === "cell" && executed.newSubCalls > 0) {
        const mismatch = new ReplayMismatchError(
          `iteration ${transcript.iteration}, block ${block}: the replayed cell made ${executed.newSubCalls} sub-call(s) its first run did not make; they were carried out`,
        );
        progress.emit({
          type: "replay_mismatch",
          depth: progress.depth,
          iteration: transcript.iteration,
          block,
          code: "replay_mismatch",
          message: mismatch.message,
        });
      }
    }
    await this.#record(code, block, result);
    return result;
  }

  /** Journals a cell's outcome, adds it to the history and tells the listeners. */
  async #record(code: string, block: number, result: CellResult): Promise<void> {
    const { journal, transcript, progress } = this.#services;
    const written = journal.put(
      journalKeys.cell(transcript.iteration, block),
      toCellRecord(code, result, this.#services.control.exhausted),
    );
    // A cell that lost its isolate is replayed from this record (its outcome depended on
    // timing): it must be there before anything builds on it. Any other cell is simply
    // run again on replay, so its record is written while the analysis goes on, and
    // waited for before the next root turn is journaled (see `JournalPolicy.settle`).
    if (result.sandboxLost) await written;
    else journal.deferWrite(written);
    transcript.history.push({
      iteration: transcript.iteration,
      code,
      output: result.output,
      ...(result.error === undefined ? {} : { error: result.error }),
      durationMs: result.durationMs,
      subCalls: result.subCalls,
      ...(result.unawaitedSubCalls ? { unawaitedSubCalls: result.unawaitedSubCalls } : {}),
    });
    progress.emit({
      type: "cell_end",
      depth: progress.depth,
      iteration: transcript.iteration,
      block,
      durationMs: result.durationMs,
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.sandboxLost ? { sandboxLost: true } : {}),
    });
  }

  /**
   * A lost cell taken from the journal that a budget stopped: the replay stops there as
   * the first run did (its sub-calls are not replayed, so their spend is not counted).
   */
  #replayBudgetStop(record: CellRecord): void {
    if (record.budgetStop) {
      this.#services.control.stopForBudget(
        new BudgetExceededError(record.budgetStop.budget, record.budgetStop.message),
      );
    }
  }
}

/** A step that was still going when its machine was released: its outcome is nobody's. */
class RunReleasedError extends RlmError {
  constructor() {
    super("run_released", "the run was released while a cell ran", { retryable: true });
  }
}
