import type { SubCallRecord } from "@rlm/core";
import { setTimeout as sleep } from "node:timers/promises";
import type { CallHeader, PlainCall } from "../sub-calls/call-lane.js";
import type { CallSlots } from "./call-slots.js";
import { type CallRunnerServices, runCall } from "./call-runner.js";
import type { CancelWatch } from "../answers/cancel-watch.js";

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
}

/**
 * Plain calls made in the process of the root run that issued them, while it has a call
 * slot free: they start at once, with no job to add and take (3 to 5 ms a call on a busy
 * worker through the wait list, and Redis commands), and their answers reach the run in
 * the same process. They are journaled like any LM job's call before the run uses them;
 * a crash loses only calls that had not completed, which the rebuilt run makes again.
 * Calls beyond the free slots go to the queue, where any worker with a slot free takes
 * them.
 */
export class LocalCalls {
  /** Calls started here (for statistics). */
  started = 0;

  constructor(private readonly settings: LocalCallsSettings) {}

  /** Starts `call` now if a call slot is free; undefined otherwise (see `CallLane`). */
  runHere(header: CallHeader, call: PlainCall): Promise<SubCallRecord> | undefined {
    if (!this.settings.slots.tryTake()) return undefined;
    this.started += 1;
    return this.#run(header, call);
  }

  async #run(header: CallHeader, call: PlainCall): Promise<SubCallRecord> {
    const { slots, runner, attempts, backoffMs } = this.settings;
    // The call starts in a later task: the rest of its fan-out is dispatched first, so
    // the calls this process has no slot for reach the queue (and the other workers) at
    // once, not after this process has sent its own (~0.4 ms of request building each).
    await new Promise((resolve) => setImmediate(resolve));
    const cancel = this.settings.cancelWatch?.hold(header.analysisId);
    let holding = true;
    try {
      for (let attempt = 1; ;) {
        const outcome = await runCall(runner, header, call, {
          canRetry: attempt < attempts,
          deliverHere: false,
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
