import { CancelledError } from "./errors.js";

/** Gives a held slot back. Calling it more than once has no further effect. */
export type GateRelease = () => void;

/**
 * A bound on how many operations run at once, held only around the part that needs it.
 *
 * Why an interface and not a function wrapper (p-limit): a model client can then take the
 * slot just before its request is written and give it back as soon as the response body
 * has arrived, and do everything else (building the request, parsing the answer, backoff
 * between retries) outside it.
 */
export interface ConcurrencyGate {
  /**
   * Resolves with the release once a slot is free. When `signal` fires while waiting, the
   * waiter leaves the queue and the promise rejects (with a `CancelledError`, code
   * `cancelled`, unless a wrapper such as {@link checkedGate} refuses for its own reason).
   */
  acquire(signal?: AbortSignal): Promise<GateRelease>;
}

interface Waiter {
  grant: (release: GateRelease) => void;
  /** Set when the waiter gave up; skipped when a slot frees. */
  gone: boolean;
}

/** A FIFO semaphore: slots are handed out in the order they were asked for. */
export class FifoGate implements ConcurrencyGate {
  readonly size: number;
  #free: number;
  /** Waiters from `#head` on; the array is compacted now and then, not shifted per grant. */
  #waiters: Waiter[] = [];
  #head = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`a gate needs at least one slot (got ${size})`);
    }
    this.size = size;
    this.#free = size;
  }

  /** Slots held now. */
  get inUse(): number {
    return this.size - this.#free;
  }

  acquire(signal?: AbortSignal): Promise<GateRelease> {
    if (signal?.aborted) return Promise.reject(cancelledWait(signal));
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve(this.#releaseFor());
    }
    return new Promise<GateRelease>((resolve, reject) => {
      const onAbort = () => {
        waiter.gone = true;
        reject(cancelledWait(signal));
      };
      const waiter: Waiter = {
        gone: false,
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Runs `task` while holding a slot (the p-limit shape, for callers that want it). */
  async run<T>(task: () => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  #releaseFor(): GateRelease {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#handOver();
    };
  }

  /** A freed slot goes straight to the next live waiter, so no newcomer can jump the queue. */
  #handOver(): void {
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head]!;
      this.#head += 1;
      this.#compact();
      if (!waiter.gone) {
        waiter.grant(this.#releaseFor());
        return;
      }
    }
    this.#free += 1;
  }

  #compact(): void {
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * The gate seen through a check made each time a slot is obtained: when `check` throws,
 * the slot goes back at once and `acquire` rejects with what it threw.
 *
 * Why: a call queued behind others must see the latest spend (a token or cost budget may
 * have run out while it waited), so the budget is checked at acquisition, not at queueing.
 */
export function checkedGate(gate: ConcurrencyGate, check: () => void): ConcurrencyGate {
  return {
    async acquire(signal) {
      const release = await gate.acquire(signal);
      try {
        check();
      } catch (error) {
        release();
        throw error;
      }
      return release;
    },
  };
}

function cancelledWait(signal: AbortSignal | undefined): CancelledError {
  const error = new CancelledError("the wait for a model-call slot was cancelled");
  // The reason says why (the caller's cancel, a deadline); keep it for whoever logs.
  if (signal?.reason !== undefined) Object.defineProperty(error, "cause", { value: signal.reason });
  return error;
}
