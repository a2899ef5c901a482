import { setMaxListeners } from "node:events";

/** A model call's hold on its analysis's stop (see {@link CancelWatch.hold}). */
export interface CancelHold {
  /** Aborted once the analysis is seen cancelled or ended. */
  readonly signal: AbortSignal;
  /** The call ended: stop watching for it (idempotent). */
  release(): void;
}

/** Options of {@link CancelWatch}. */
export interface CancelWatchOptions {
  /**
   * Reads, in order, whether the calls of these analyses are no longer wanted: true once
   * one was cancelled or has ended (`AnalysisStore.callsUnwanted`).
   */
  callsUnwanted: (analysisIds: readonly string[]) => Promise<boolean[]>;
  /**
   * How often the analyses watched here are read. Default 1000 ms: a stop is announced
   * to every worker at once (`AnswerChannel.onStop`); the read is for a notice missed.
   */
  pollMs?: number;
}

/** Stopped analyses remembered, so that their later calls never start. */
const REMEMBERED_CANCELS = 512;

interface Watched {
  controller: AbortController;
  holds: number;
}

/**
 * Watches every analysis that has runs or model calls in this process and aborts them
 * once it is cancelled or has ended (a budget spent, an answer found): the calls waiting
 * for a slot never start, the ones on the wire are dropped, the runs stop. Told at once
 * by the stop notices every worker receives (`cancel`), and reads the analyses' records
 * now and then for a notice it missed.
 *
 * Why: the root run of a cancelled analysis stops at its next poll, but the sub-calls it
 * had issued are LM jobs that went on to the provider and were paid for (a cancel 1.8 s
 * into a 109-call fan-out saw all 109 made). Reading the flag before each call would add
 * a Redis round trip to every call; one read per interval for all the analyses with calls
 * here costs nothing on a call's way out.
 */
export class CancelWatch {
  readonly #watched = new Map<string, Watched>();
  /** Analyses seen stopped (a stop is final), the latest few hundred. */
  readonly #cancelled = new Set<string>();
  readonly #pollMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;

  constructor(private readonly options: CancelWatchOptions) {
    this.#pollMs = options.pollMs ?? 1_000;
  }

  /** Watches `analysisId` for a call until the hold is released. */
  hold(analysisId: string): CancelHold {
    let watched = this.#watched.get(analysisId);
    if (!watched) {
      watched = { controller: new AbortController(), holds: 0 };
      setMaxListeners(0, watched.controller.signal); // one listener per call of a fan-out
      this.#watched.set(analysisId, watched);
      if (this.#cancelled.has(analysisId)) {
        watched.controller.abort(new CancelledCallError(analysisId));
      }
    }
    watched.holds += 1;
    this.#schedule();
    const entry = watched;
    let released = false;
    return {
      signal: entry.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        entry.holds -= 1;
        if (entry.holds === 0 && this.#watched.get(analysisId) === entry) {
          this.#watched.delete(analysisId);
        }
      },
    };
  }

  /** Aborts the calls of `analysisId`, held now or later (its stop was seen elsewhere). */
  cancel(analysisId: string): void {
    this.#cancelled.add(analysisId);
    if (this.#cancelled.size > REMEMBERED_CANCELS) {
      this.#cancelled.delete(this.#cancelled.values().next().value as string);
    }
    const watched = this.#watched.get(analysisId);
    if (!watched || watched.controller.signal.aborted) return;
    watched.controller.abort(new CancelledCallError(analysisId));
  }

  /** Analyses with calls held here (for tests and stats). */
  get watching(): number {
    return this.#watched.size;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#polling) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, this.#pollMs);
    // A process with nothing else to do is not kept alive by the watch.
    this.#timer.unref?.();
  }

  async #poll(): Promise<void> {
    const ids = [...this.#watched.keys()];
    if (ids.length === 0) return;
    this.#polling = true;
    try {
      const flags = await this.options.callsUnwanted(ids);
      ids.forEach((id, index) => {
        if (flags[index]) this.cancel(id);
      });
    } catch {
      // Redis unreachable for a moment: the next poll reads again.
    } finally {
      this.#polling = false;
    }
    if (this.#watched.size > 0) this.#schedule();
  }
}

/** The reason a held call's signal is aborted with. */
export class CancelledCallError extends Error {
  readonly code = "cancelled";
  readonly retryable = false;

  constructor(readonly analysisId: string) {
    super(`analysis ${analysisId} was cancelled`);
    this.name = "CancelledCallError";
  }
}
