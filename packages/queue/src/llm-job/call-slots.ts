/**
 * The model calls a worker process makes at once (`--llm-concurrency`), shared by the
 * calls its own root runs start and the LM jobs it takes from the queue. A job is taken
 * only when a slot is free, so no process holds calls it cannot start while another
 * could.
 */
export class CallSlots {
  #inUse = 0;
  readonly #waiters: Array<() => void> = [];
  readonly #onFree = new Set<() => void>();

  constructor(readonly capacity: number) {}

  /** Slots free now, less those promised to waiters. */
  get free(): number {
    return Math.max(0, this.capacity - this.#inUse - this.#waiters.length);
  }

  /** Calls in progress. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a slot if one is free and nobody waits for one. */
  tryTake(): boolean {
    if (this.free === 0) return false;
    this.#inUse += 1;
    return true;
  }

  /** Takes a slot, waiting in line for one. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) {
      next(); // the slot goes straight to the next in line
      return;
    }
    this.#inUse -= 1;
    for (const wake of [...this.#onFree]) wake();
  }

  /** Resolves once a slot is free (at once if one is). */
  whenFree(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.#onFree.delete(wake);
        resolve();
      };
      this.#onFree.add(wake);
    });
  }
}
