/**
 * Whether a root job holding its slot for its children should give it up: true when one
 * of the `away` child jobs (queued past the grace, not running in this process) was taken
 * by another worker, or is retrying or gone. `states` are their BullMQ states, in order.
 * An active job counts only once it has been active, without running here, for `graceMs`;
 * `activeSince` keeps when each was first seen so, across the holder's checks.
 *
 * Why the wait: BullMQ marks a job active when a worker fetches it, and this process's LM
 * processor registers it a moment later. Seen in that moment, a job of this process's
 * own LM worker looked taken elsewhere, and the root gave its slot up for nothing (seen in
 * fan-outs with one worker process, `bench/diagnostics/queue-timeline.ts`); its resume
 * through BullMQ then took 8–22 ms from the fan-out's last answer to the next root call,
 * against ~3 ms with the slot held.
 */
export function takenElsewhere(
  away: ReadonlyArray<{ jobId: string }>,
  states: ReadonlyArray<string>,
  activeSince: Map<string, number>,
  graceMs: number,
  now = Date.now(),
): boolean {
  return away.some(({ jobId }, index) => {
    const state = states[index];
    if (state === "waiting" || state === "prioritized") return false;
    if (state !== "active") return true;
    const since = activeSince.get(jobId) ?? now;
    activeSince.set(jobId, since);
    return now - since >= graceMs;
  });
}
