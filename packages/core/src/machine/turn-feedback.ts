import { outputSchemaMismatchNote, replFeedbackPrompt } from "../prompts.js";
import { pythonHint } from "../python-hints.js";
import type { CellResult } from "../sandbox.js";

/** What a turn's cells told, gathered for the message that carries it to the model. */
export class TurnFeedback {
  readonly #blocks: Array<{ output: string; error?: string; unawaitedSubCalls?: number }> = [];
  readonly #notes: string[];

  /** @param notes - said after the outputs (e.g. that a text FINAL beside code was not taken). */
  constructor(notes: readonly string[]) {
    this.#notes = [...notes];
  }

  /** Adds a cell's outcome; `refusedFinal` says why its FINAL was not taken. */
  add(result: CellResult, refusedFinal?: string): void {
    this.#blocks.push({
      output: result.output,
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.unawaitedSubCalls ? { unawaitedSubCalls: result.unawaitedSubCalls } : {}),
    });
    if (refusedFinal) this.#notes.push(refusedFinal);
  }

  /** The user message for the next turn. */
  prompt(iteration: { number: number; max: number; depth: number }): string {
    const note = this.#notes.length > 0 ? this.#notes.join("\n\n") : undefined;
    return replFeedbackPrompt(this.#blocks, iteration, note);
  }

  /**
   * The cell's result with a hint added to its error when the code was Python: what the
   * model reads, and what the history keeps (derived from code and error alone, so a
   * replay adds the same).
   */
  static withHints(code: string, result: CellResult): CellResult {
    if (result.error === undefined) return result;
    const hint = pythonHint(code, result.error);
    return hint ? { ...result, error: `${result.error}\n${hint}` } : result;
  }

  /** The note for a FINAL whose value does not match the output schema. */
  static schemaMismatch(problems: string): string {
    return outputSchemaMismatchNote(problems);
  }
}
