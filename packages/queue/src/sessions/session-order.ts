import { isTerminalStatus } from "../analyses/analysis-types.js";
import { jobNames } from "../jobs/job-names.js";
import type { RootQueue } from "../jobs/queues.js";
import type { SessionStore } from "./session-store.js";
import type { SessionPlace } from "./session-types.js";

// How the questions of a session run one at a time, in order: a question's root job is
// added at once (Bull Board shows it), delayed while an earlier question has not ended.
// The worker that ends a question promotes the next one's job; the delay is only the
// watch for a promotion that never came (that worker died in between, or the earlier
// question was cancelled while queued). A worker that starts a question whose earlier
// ones have not all ended (a watch that fired early) delays it again, for longer each
// time. No worker slot is held while a question waits.

/** First wait of a question behind an unfinished one, before it looks again (ms). */
const FIRST_WATCH_MS = 2_000;
/** Longest wait between two looks (ms). */
const LONGEST_WATCH_MS = 30_000;

/** How long a question waits before it looks again, after `looks` looks already. */
export function watchDelayMs(looks: number): number {
  return Math.min(LONGEST_WATCH_MS, FIRST_WATCH_MS * 2 ** Math.max(0, looks));
}

/**
 * True once every one of `earlier` (analysis ids) has ended. An analysis whose record is
 * gone counts as ended: it cannot run any more.
 */
export async function allEnded(store: SessionStore, earlier: readonly string[]): Promise<boolean> {
  const states = await store.questionStates(earlier);
  return states.every((state) => state.status === null || isTerminalStatus(state.status));
}

/**
 * Starts a waiting question's job now, if it is still delayed. A race with its own look
 * (it started meanwhile) or a job removed (cancelled) is no failure: the promotion is
 * only there to save the watch's delay.
 */
export async function promoteQuestion(queue: RootQueue, analysisId: string): Promise<void> {
  try {
    const job = await queue.getJob(analysisId);
    if (job && (await job.isDelayed())) await job.promote();
  } catch {
    // Not delayed any more (it started, or was removed): nothing to promote.
  }
}

/** `analysis an_… · "How many…" · question 2 of se_…`, as Bull Board lists it. */
export function questionJobName(analysisId: string, query: string, place: SessionPlace): string {
  return `${jobNames.analysis(analysisId, query)} · question ${place.position + 1} of ${place.sessionId}`;
}
