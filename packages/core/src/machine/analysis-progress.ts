import type { RlmEvent } from "../events.js";
import type { EngineOptions } from "../options.js";
import { SpanAttributes } from "../tracing.js";
import type { UsageTracker } from "../usage.js";

/**
 * What is seen of an analysis while it runs: its progress events, told to the
 * `onEvent` listener, and the attributes every span of it carries.
 */
export class AnalysisProgress {
  readonly depth: number;
  readonly #analysisId: string;
  readonly #options: Pick<EngineOptions, "onEvent" | "maxIterations">;
  readonly #usage: UsageTracker;

  constructor(
    analysisId: string,
    depth: number,
    options: Pick<EngineOptions, "onEvent" | "maxIterations">,
    usage: UsageTracker,
  ) {
    this.#analysisId = analysisId;
    this.depth = depth;
    this.#options = options;
    this.#usage = usage;
  }

  /** Tells the listener, if there is one. */
  emit(event: RlmEvent): void {
    const listener = this.#options.onEvent;
    if (!listener) return;
    try {
      listener(event);
    } catch {
      // A failing progress listener must not break the analysis.
    }
  }

  /** What every span of this analysis carries. */
  spanAttributes(): Record<string, string | number> {
    return { [SpanAttributes.analysisId]: this.#analysisId, [SpanAttributes.depth]: this.depth };
  }

  /** Iteration `iteration` begins: its root turn is next. */
  iterationStarted(iteration: number): void {
    this.emit({
      type: "iteration_start",
      depth: this.depth,
      iteration,
      maxIterations: this.#options.maxIterations,
    });
  }

  /** Iteration `iteration` ended after `cells` cells; `final` when it gave the answer. */
  iterationEnded(iteration: number, cells: number, final: boolean): void {
    this.emit({
      type: "iteration_end",
      depth: this.depth,
      iteration,
      cells,
      final,
      usage: this.#usage.summary(),
    });
  }
}
