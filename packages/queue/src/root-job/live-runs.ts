import type { AnalysisMachine, StepOutcome } from "@rlm/core";
import type { QueueSubCallExecutor } from "../sub-calls/queue-sub-call-executor.js";

/** An analysis kept alive in this process while its job waits for children. */
export interface LiveRun {
  machine: AnalysisMachine;
  executor: QueueSubCallExecutor;
  /** Aborts the machine's model calls (cancellation). */
  abort: AbortController;
  /** The step in progress, if the run was blocked in the middle of a cell. */
  step: Promise<StepOutcome> | undefined;
  /** Disposes the machine's sandbox and releases its document. */
  release: () => void;
}

/**
 * Process-local cache of live runs, so a root job resumed on the same worker continues
 * its REPL instead of rebuilding it by replay. Bounded in count and idle time: a run
 * whose job moved to another worker (or was abandoned) is released eventually.
 */
export class LiveRuns {
  private readonly runs = new Map<string, { run: LiveRun; touchedAt: number }>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** Resumes that found their run here (no replay needed). */
  hits = 0;
  /** Resumes that had to rebuild by replay (an analysis's first run counts as one). */
  misses = 0;
  /**
   * Times a run went on after its children without leaving its slot: they were answered
   * while it kept it, or had all finished when it was about to give it up.
   */
  held = 0;

  constructor(
    private readonly limits: { maxRuns: number; idleMs: number } = {
      maxRuns: 64,
      idleMs: 10 * 60_000,
    },
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(limits.idleMs, 60_000));
    this.sweeper.unref?.();
  }

  /** The run kept under `key`, without counting a resume or touching it. */
  peek(key: string): LiveRun | undefined {
    return this.runs.get(key)?.run;
  }

  get(key: string): LiveRun | undefined {
    const entry = this.runs.get(key);
    if (!entry) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    entry.touchedAt = Date.now();
    return entry.run;
  }

  set(key: string, run: LiveRun): void {
    const existing = this.runs.get(key);
    if (existing && existing.run !== run) existing.run.release();
    this.runs.set(key, { run, touchedAt: Date.now() });
    while (this.runs.size > this.limits.maxRuns) {
      const oldest = [...this.runs.entries()].sort((a, b) => a[1].touchedAt - b[1].touchedAt)[0];
      if (!oldest) break;
      this.runs.delete(oldest[0]);
      oldest[1].run.release();
    }
  }

  /** Forgets a run (without releasing it: the caller owns it now). */
  delete(key: string): void {
    this.runs.delete(key);
  }

  /** Forgets a run and releases it (its isolate and document): the analysis is over here. */
  discard(key: string): void {
    const entry = this.runs.get(key);
    this.runs.delete(key);
    entry?.run.release();
  }

  get size(): number {
    return this.runs.size;
  }

  /** Releases every run; for shutdown. */
  clear(): void {
    for (const { run } of this.runs.values()) run.release();
    this.runs.clear();
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.runs) {
      if (now - entry.touchedAt > this.limits.idleMs) {
        this.runs.delete(key);
        entry.run.release();
      }
    }
  }
}
