import type { SubCallRecord } from "@rlm/core";
import { setTimeout as sleep } from "node:timers/promises";
import type { CallHeader, PlainCall } from "../sub-calls/call-lane.js";
import type { CallSlots } from "./call-slots.js";
import { type CallRunnerServices, runCall } from "./call-runner.js";
import type { CancelWatch } from "../answers/cancel-watch.js";

/** How long a count of the LM workers is used before it is read again. */
const WORKERS_READ_MS = 5_000;

/** What {@link LocalCalls} needs from its worker process. */
export interface LocalCallsSettings {
  /** The process's call slots, shared with the LM jobs it takes. */
  slots: CallSlots;
  runner: CallRunnerServices;
  /** Aborts the calls of an analysis once it is cancelled or has ended. */
  cancelWatch?: CancelWatch;
  /** Tries of a call, the first included (as the LM queue's jobs get). */
  attempts: number;
  /** Wait before the second try, doubling with each (as the LM queue's backoff). */
  backoffMs: number;
  /** The worker processes taking LM jobs, this one included (`Queue.getWorkersCount`). */
  llmWorkers?: () => Promise<number>;
}

/**
 * Plain calls made in the process of the root run that issued them, while it has a call
 * slot free: they start at once, with no job to add and take (3 to 5 ms a call on a busy
 * worker through the wait list, and Redis commands), and their answers reach the run in
 * the same process. They are journaled like any LM job's call before the run uses them;
 * a crash loses only calls that had not completed, which the rebuilt run makes again.
 * Calls beyond the free slots go to the queue, where any worker with a slot free takes
 * them; but in a process that is the only one taking LM jobs, they wait here for a slot:
 * their jobs would only come back to it, through Redis (three commands and BullMQ's work
 * per call: 9.4 commands a sub-call instead of 4.3 in figure 8's throughput batch).
 */
export class LocalCalls {
  /** Calls made here (for statistics). */
  started = 0;
  /** LM workers at the last count (0: not counted yet), when, and whether one is under way. */
  #workers = 0;
  #countedAt = 0;
  #counting = false;

  constructor(private readonly settings: LocalCallsSettings) {}

  /**
   * Starts `call` now if a call slot is free, or waits here for one in a process that is
   * the only LM worker; undefined otherwise: the call goes to the queue (see `CallLane`).
   */
  runHere(header: CallHeader, call: PlainCall): Promise<SubCallRecord> | undefined {
    if (this.settings.slots.tryTake()) {
      this.started += 1;
      return this.#run(header, call, true);
    }
    if (!this.#alone()) return undefined;
    this.started += 1;
    return this.#run(header, call, false);
  }

  /**
   * True when this process was the only LM worker at the last count (counted again in the
   * background once it is older than `WORKERS_READ_MS`; not counted yet: false).
   */
  #alone(): boolean {
    const count = this.settings.llmWorkers;
    if (!count) return false;
    if (!this.#counting && Date.now() - this.#countedAt >= WORKERS_READ_MS) {
      this.#counting = true;
      count()
        .then((workers) => {
          this.#workers = workers;
          this.#countedAt = Date.now();
        })
        .catch(() => undefined)
        .finally(() => {
          this.#counting = false;
        });
    }
    return this.#workers === 1;
  }

  async #run(header: CallHeader, call: PlainCall, holding: boolean): Promise<SubCallRecord> {
    const { slots, runner, attempts, backoffMs } = this.settings;
    // A call beyond the free slots waits in line for one (as an LM job would have).
    if (!holding) await slots.take();
    holding = true;
    // The call starts now, in the task that issued it (no hop to a later one): undici
    // writes a request to a reused keep-alive socket only after a check phase of the
    // event loop (its idle-socket validation, a `setImmediate`), and a process issuing a
    // fan-out of 1,000 calls ran ~100 ms of their preparation first: its own 50 calls
    // reached the model 110 ms after the other worker's (N = 1000, 2 workers).
    const cancel = this.settings.cancelWatch?.hold(header.analysisId);
    try {
      for (let attempt = 1; ;) {
        const outcome = await runCall(runner, header, call, {
          canRetry: attempt < attempts,
          deliverHere: false,
          lane: "local",
          ...(cancel ? { signal: cancel.signal } : {}),
        });
        if (outcome.kind === "answered") return outcome.record;
        if (outcome.kind === "cancelled") throw cancel?.signal.reason ?? new Error("cancelled");
        // A 429 is tried again once the provider's pause is over (the admission waits
        // for it) without using a try, as an LM job goes back to the queue.
        if (outcome.kind === "rate_limited") continue;
        // A retryable failure waits out its backoff without holding a slot.
        slots.release();
        holding = false;
        await sleep(backoffMs * 2 ** (attempt - 1));
        await slots.take();
        holding = true;
        attempt += 1;
      }
    } finally {
      cancel?.release();
      if (holding) slots.release();
    }
  }
}
