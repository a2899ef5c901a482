/**
 * The model calls a worker process makes at once (`--llm-concurrency`), shared by the
 * calls its own root runs start and the LM jobs it takes from the queue, first come first
 * served. A job is taken only with a slot in hand, so no process holds calls it cannot
 * start while another could.
 */
export class CallSlots {
  #inUse = 0;
  readonly #waiters: Array<() => void> = [];

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
    return this.takeUpTo(1) === 1;
  }

  /** Takes up to `count` slots among those free (none while others wait); how many. */
  takeUpTo(count: number): number {
    const taken = Math.min(count, this.free);
    this.#inUse += taken;
    return taken;
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
  }
}
