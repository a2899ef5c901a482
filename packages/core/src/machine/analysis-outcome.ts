import type { JsonValue } from "../context.js";
import { BudgetExceededError, CancelledError, RlmError, toRlmError } from "../errors.js";
import type { EngineOptions } from "../options.js";
import type { FinishReason, RlmResult } from "../result.js";
import type { RunControl } from "../run-control.js";
import { parseStructuredAnswer } from "../structured/structured-answer.js";
import type { UsageTracker } from "../usage.js";
import type { Transcript } from "./transcript.js";
import { TurnFeedback } from "./turn-feedback.js";

/** What the outcome of an analysis is made of. */
export interface AnalysisOutcomeServices {
  options: Pick<EngineOptions, "maxIterations" | "outputSchema">;
  control: RunControl;
  usage: UsageTracker;
  /** Epoch ms the analysis began (across resumes): the result's `durationMs` counts from it. */
  startedAt: number;
  transcript: Readonly<Transcript>;
  /** Takes the analysis's result: the machine is done. */
  done(result: RlmResult): void;
}

/**
 * How an analysis ends: an answer taken (typed when it matches the output schema), or a
 * stop (budget, cancel, error) with the best answer so far; either way as its
 * {@link RlmResult}.
 */
export class AnalysisOutcome {
  readonly #services: AnalysisOutcomeServices;

  constructor(services: AnalysisOutcomeServices) {
    this.#services = services;
  }

  /**
   * Takes `answer` as the analysis's answer: checked against the output schema when there
   * is one. Returns the note for the model when the answer was refused.
   */
  accept(answer: string): string | undefined {
    const schema = this.#services.options.outputSchema;
    if (!schema) {
      this.#finish("final", answer);
      return undefined;
    }
    const checked = parseStructuredAnswer(answer, schema);
    if (!checked.ok) return TurnFeedback.schemaMismatch(checked.problems);
    this.#finish("final", checked.json, undefined, checked.value);
    return undefined;
  }

  /** The answer at the iteration limit: typed when it matches the schema. */
  finishLast(answer: string): void {
    const schema = this.#services.options.outputSchema;
    if (!schema) return this.#finish("max_iterations", answer);
    const checked = parseStructuredAnswer(answer, schema);
    if (checked.ok) return this.#finish("max_iterations", checked.json, undefined, checked.value);
    this.#finish(
      "max_iterations",
      answer,
      new RlmError(
        "output_invalid",
        `the last answer does not match the output schema: ${checked.problems}`,
      ),
    );
  }

  /** Stops the analysis when it was cancelled or a budget ran out. */
  stopIfControlTripped(): boolean {
    const { control } = this.#services;
    if (control.exhausted) {
      this.#finish("budget", this.partialAnswer(), control.exhausted);
      return true;
    }
    if (control.signal.aborted) {
      this.#finish("cancelled", this.partialAnswer(), new CancelledError());
      return true;
    }
    return false;
  }

  /** Ends the analysis on what a step threw: a budget or a cancel as such, else an error. */
  finishWithError(error: unknown): void {
    const { control } = this.#services;
    if (error instanceof BudgetExceededError) {
      this.#finish("budget", this.partialAnswer(), error);
    } else if (error instanceof CancelledError || (control.cancelled && isAbort(error))) {
      this.#finish("cancelled", this.partialAnswer(), new CancelledError());
    } else if (control.exhausted && isAbort(error)) {
      this.#finish("budget", this.partialAnswer(), control.exhausted);
    } else {
      this.#finish("error", this.partialAnswer(), toRlmError(error));
    }
  }

  /** The best answer available when the analysis stops early: the latest printed output. */
  partialAnswer(): string {
    const { history, messages } = this.#services.transcript;
    for (let index = history.length - 1; index >= 0; index -= 1) {
      const output = history[index]?.output.trim();
      if (output) return output.slice(0, 4000);
    }
    for (let index = messages.length - 1; index >= 2; index -= 1) {
      const message = messages[index];
      if (message?.role === "assistant") return message.content.trim().slice(0, 4000);
    }
    return "";
  }

  /** The result, from the transcript and the usage as they are now: the machine is done. */
  #finish(finishReason: FinishReason, answer: string, error?: RlmError, output?: JsonValue): void {
    const { options, usage, transcript } = this.#services;
    const result: RlmResult = {
      answer,
      ...(output === undefined ? {} : { output }),
      finishReason,
      iterations: Math.min(transcript.iteration, options.maxIterations),
      totalCalls: usage.calls,
      replHistory: transcript.history.map((entry) => ({ ...entry })),
      messages: transcript.messages.map((message) => ({ ...message })),
      usage: usage.summary(),
      durationMs: Date.now() - this.#services.startedAt,
      ...(error === undefined
        ? {}
        : { error: { code: error.code, message: error.message, retryable: error.retryable } }),
    };
    this.#services.done(result);
  }
}

function isAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "cancelled" || (error instanceof Error && error.name === "AbortError");
}
