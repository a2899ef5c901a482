import type { RlmResult } from "@rlm/core";
import type { RootRun } from "./root-run.js";
import type { RootSlots } from "./root-slots.js";

/**
 * How long a run keeps its slot while it waits for child jobs only. Past it the run
 * gives the slot up (waiting-children) and is rebuilt from the journal once they end:
 * with a slow model (calls of tens of seconds) a waiting run should not keep a slot
 * another analysis could use, and a rebuild costs little next to such a wait.
 */
export const HOLD_MAX_MS = 10_000;

/**
 * How often a run waiting for child jobs reads the journal for answers whose live
 * message it missed (announced before it listened, or lost in a reconnect).
 */
export const JOURNAL_RECHECK_MS = 1_000;

/** How a drive ended: the analysis's result, or the run must give its slot up. */
export type DriveEnd = { result: RlmResult } | { park: true };

/**
 * Steps the run's machine until the analysis ends, keeping the job's slot while the run
 * waits for its sub-calls: their answers reach it live, wherever they are made, so it goes
 * on as they arrive, with no waiting-children round trip on the way back from a fan-out.
 * It stops to give the slot up (`park`) when it waits for child jobs only and: the worker
 * is closing; it waits for a nested analysis while every root slot of the process is
 * taken (nested analyses need root slots too: no deadlock at any depth or concurrency);
 * or it has waited `HOLD_MAX_MS`.
 */
export async function driveRun(run: RootRun, slots: RootSlots): Promise<DriveEnd> {
  let blockedSince: number | undefined;
  let checkedAt = Date.now();
  for (;;) {
    run.step ??= run.machine.step();
    let stepFinished = false;
    const step = run.step.then((outcome) => {
      stepFinished = true;
      return outcome;
    });
    const winner = await Promise.race([
      step.then((outcome) => ({ outcome })),
      run.executor.whenBlocked(() => stepFinished).then((blocked) => ({ blocked })),
    ]);
    if ("outcome" in winner) {
      run.step = undefined;
      blockedSince = undefined;
      if (winner.outcome.done) return { result: winner.outcome.result };
      continue;
    }
    if (!winner.blocked) continue;
    blockedSince ??= Date.now();
    const waitsForNested = run.executor.waitsForNested;
    if (
      slots.closing ||
      (waitsForNested && slots.full) ||
      Date.now() - blockedSince >= HOLD_MAX_MS
    ) {
      return { park: true };
    }
    // Until an answer comes (or the step ends), the slots fill up, or it is time to read
    // the journal.
    await Promise.race([
      step,
      run.executor.pending.nextChange(JOURNAL_RECHECK_MS),
      slots.whenFullOrClosing(JOURNAL_RECHECK_MS),
    ]);
    if (!stepFinished && Date.now() - checkedAt >= JOURNAL_RECHECK_MS) {
      checkedAt = Date.now();
      await run.executor.checkJournal();
    }
  }
}
