/**
 * The root jobs a worker process runs (its `concurrency.root`), for the rule that lets a
 * run keep its slot while it waits: a run waiting for nested analyses gives its slot up
 * once every slot is taken, since those analyses need root slots too (any depth, any
 * concurrency, no deadlock); and every waiting run gives it up when the worker closes.
 */
export class RootSlots {
  #running = 0;
  #closing = false;
  readonly #listeners = new Set<() => void>();

  constructor(private readonly limit: number) {}

  /** True when every slot is taken. */
  get full(): boolean {
    return this.#running >= this.limit;
  }

  /** True once the worker is closing: waiting runs give their slots up. */
  get closing(): boolean {
    return this.#closing;
  }

  taken(): void {
    this.#running += 1;
    if (this.full) this.#wake();
  }

  freed(): void {
    this.#running -= 1;
  }

  /** The worker is closing. */
  close(): void {
    this.#closing = true;
    this.#wake();
  }

  /** Resolves when the slots fill up or the worker starts closing, or after `ms`. */
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
