/**
 * A worker process's root capacity, in two measures:
 *
 * - steps: runs that may advance at once (`concurrency.root`): a run takes one to start
 *   a step (a root model call, a cell) and gives it back while it waits for its
 *   sub-calls, so waiting runs do not count against the process's concurrency;
 * - jobs: root jobs the process holds at once, waiting runs included
 *   ({@link LIVE_RUNS_PER_STEP} per step slot): BullMQ's concurrency for `rlm-root`.
 *
 * A run waiting for nested analyses gives its job up (waiting-children) once every job
 * slot is taken, since nested analyses need root jobs too: no deadlock at any depth or
 * concurrency. Every waiting run gives its job up when the worker closes.
 */
export class RootSlots {
  #jobs = 0;
  #steps = 0;
  #closing = false;
  /** Runs waiting for a step slot, the oldest analysis first. */
  readonly #stepWaiters: Array<{ since: number; go: () => void }> = [];
  readonly #listeners = new Set<() => void>();
  /** Most root jobs held at once (BullMQ's concurrency for `rlm-root`). */
  readonly jobLimit: number;

  constructor(readonly stepLimit: number) {
    this.jobLimit = Number.isFinite(stepLimit) ? stepLimit * LIVE_RUNS_PER_STEP : stepLimit;
  }

  /** True when every job slot is taken. */
  get full(): boolean {
    return this.#jobs >= this.jobLimit;
  }

  /** True once the worker is closing: waiting runs give their jobs up. */
  get closing(): boolean {
    return this.#closing;
  }

  jobTaken(): void {
    this.#jobs += 1;
    if (this.full) this.#wake();
  }

  jobFreed(): void {
    this.#jobs -= 1;
  }

  /**
   * Takes a step slot for a run of an analysis that began at `since`, waiting for one.
   * The oldest analysis waiting gets the next slot, not the first to ask.
   *
   * Why: in arrival order, a process that took many analyses at once stepped them in
   * phases (every first root call, then every fan-out while the step slots stayed idle,
   * then every last call). Oldest first, analyses finish while others start, and root
   * calls overlap the fan-outs.
   */
  takeStep(since: number): Promise<void> {
    if (this.#steps < this.stepLimit && this.#stepWaiters.length === 0) {
      this.#steps += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let at = this.#stepWaiters.length;
      while (at > 0 && (this.#stepWaiters[at - 1]?.since ?? 0) > since) at -= 1;
      this.#stepWaiters.splice(at, 0, { since, go: resolve });
    });
  }

  releaseStep(): void {
    const next = this.#stepWaiters.shift();
    if (next)
      next.go(); // the slot goes straight to the next in line
    else this.#steps -= 1;
  }

  /** The worker is closing. */
  close(): void {
    this.#closing = true;
    this.#wake();
  }

  /** Resolves when the job slots fill up or the worker starts closing, or after `ms`. */
  whenFullOrClosing(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#listeners.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.#listeners.add(wake);
    });
  }

  #wake(): void {
    for (const wake of [...this.#listeners]) wake();
  }
}

/**
 * Root jobs a process holds per step slot. Why: a run waiting for its sub-calls holds an
 * isolate and no step slot; holding some beyond the step slots keeps those busy while
 * runs wait. More is not better: the extra analyses' calls only queue for the same call
 * slots. Measured (`bench/diagnostics/throughput-stats.ts 1 64`, one worker, 8 step and
 * 32 call slots, L = 200 ms): 1 per step 532–539 analyses a minute, 2: 616–669, 3: 559,
 * 4: 550, 8: 560.
 */
export const LIVE_RUNS_PER_STEP = 2;
