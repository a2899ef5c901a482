import type { RlmResult } from "@rlm/core";
import type { RootRun } from "./root-run.js";
import type { RootSlots } from "./root-slots.js";

/**
 * How long a run keeps its job by default while it waits for child jobs only (the
 * worker's `parkAfterMs`). Past it the run gives the job up (waiting-children) and is
 * rebuilt from the journal once they end: with a slow model (calls of tens of seconds) a
 * waiting run should not keep a slot another analysis could use, and a rebuild costs
 * little next to such a wait.
 */
export const PARK_AFTER_MS = 10_000;

/**
 * How often a run waiting for child jobs reads the journal for answers whose live
 * message it missed (announced before it listened, or lost in a reconnect).
 */
export const JOURNAL_RECHECK_MS = 1_000;

/** How a drive ended: the analysis's result, or the run must give its slot up. */
export type DriveEnd = { result: RlmResult } | { park: true };

/**
 * Steps the run's machine until the analysis ends, keeping its job while the run waits
 * for its sub-calls: their answers reach it live, wherever they are made, so it goes on
 * as they arrive, with no waiting-children round trip on the way back from a fan-out. A
 * step takes one of the process's step slots; a waiting run gives it back. The run stops
 * to give its job up (`park`) when it waits for child jobs only and: the worker is
 * closing; it waits for a nested analysis while every job slot of the process is taken
 * (nested analyses need root jobs too: no deadlock at any depth or concurrency); or it
 * has waited `parkAfterMs` (default {@link PARK_AFTER_MS}).
 */
export async function driveRun(
  run: RootRun,
  slots: RootSlots,
  parkAfterMs = PARK_AFTER_MS,
): Promise<DriveEnd> {
  // The step slot this run holds, if any: taken to start a step, given back while the
  // run waits (the process's other runs step meanwhile).
  let stepping = false;
  const stopStepping = () => {
    if (!stepping) return;
    stepping = false;
    slots.releaseStep();
  };
  try {
    for (;;) {
      if (!run.step) {
        await slots.takeStep(run.startedAt);
        stepping = true;
        run.step = run.machine.step();
      }
      let stepFinished = false;
      const step = run.step.then((outcome) => {
        stepFinished = true;
        // Whoever waits on the calls (below) looks again now, not at its next re-check.
        run.executor.pending.wake();
        return outcome;
      });
      const winner = await Promise.race([
        step.then((outcome) => ({ outcome })),
        run.executor.whenWaiting(() => stepFinished).then((waiting) => ({ waiting })),
      ]);
      if ("outcome" in winner) {
        run.step = undefined;
        stopStepping();
        if (winner.outcome.done) return { result: winner.outcome.result };
        continue;
      }
      if (!winner.waiting) continue;
      // Waiting for its sub-calls: the step slot is another run's meanwhile.
      stopStepping();
      const park = await waitForStep(run, slots, parkAfterMs, step, () => stepFinished);
      if (park) return { park: true };
    }
  } finally {
    stopStepping();
  }
}

/**
 * Waits, without a step slot, until the run's step ends (false) or the run must give its
 * job up (true). Answers arriving do not bring it back to the top of `driveRun`: they
 * move the cell on by themselves, and each look at whether the run still waits asks the
 * isolate whether it is idle (a round trip to its thread). It looks only when giving the
 * job up is due (closing, a nested wait with every job slot taken, `parkAfterMs` held),
 * and then checks that the run is settled waiting for child jobs only.
 *
 * Why: looking on every answer cost the root's process one or two isolate round trips per
 * sub-call (~60 ms of its main thread per fan-out of 1,000, plus the isolate thread's), and
 * it is the busiest process of a fan-out spread over workers (BENCHMARKS.md, session 12).
 */
async function waitForStep(
  run: RootRun,
  slots: RootSlots,
  parkAfterMs: number,
  step: Promise<unknown>,
  isFinished: () => boolean,
): Promise<boolean> {
  const { executor } = run;
  let blockedSince: number | undefined;
  let checkedAt = Date.now();
  while (!isFinished()) {
    if (!executor.pending.onlyChildren) {
      // Some are made in this process: until an answer comes (or the step ends).
      blockedSince = undefined;
      await Promise.race([step, executor.pending.nextChange(JOURNAL_RECHECK_MS)]);
      continue;
    }
    blockedSince ??= Date.now();
    const due =
      slots.closing ||
      (executor.waitsForNested && slots.full) ||
      Date.now() - blockedSince >= parkAfterMs;
    // All in child jobs: settled so (nothing still being added), or look again.
    if (due && (await executor.whenWaiting(isFinished, true))) return true;
    // Until an answer comes (or the step ends), the job slots fill up, it is time to read
    // the journal, or the hold is over (once over, a run not settled yet looks again at
    // the next change or recheck, not in a loop).
    const holdLeft = blockedSince + parkAfterMs - Date.now();
    const wait = holdLeft > 0 ? Math.min(JOURNAL_RECHECK_MS, holdLeft) : JOURNAL_RECHECK_MS;
    await Promise.race([step, executor.pending.nextChange(wait), slots.whenFullOrClosing(wait)]);
    if (!isFinished() && Date.now() - checkedAt >= JOURNAL_RECHECK_MS) {
      checkedAt = Date.now();
      await executor.checkJournal();
    }
  }
  return false;
}
