import type { AnalysisEventEntry } from "@rlm/queue";
import type { TrajectoryScope, TrajectorySubCall } from "./trajectory-types.js";

/**
 * Times of the top analysis's steps, from its event stream: the stream's entry ids are
 * Redis timestamps, and its engine events name the iteration and cell they are about.
 * (Nested analyses publish events too, but without saying which one they come from.)
 */
export interface RootAnchors {
  /** When a worker first started the analysis. */
  startMs?: number;
  /** When each iteration started, i.e. its root turn was sent. */
  turnStarts: Map<number, number>;
}

/** Reads the anchors from an analysis's events (the first of each kind wins: replays repeat them). */
export function rootAnchors(events: readonly AnalysisEventEntry[]): RootAnchors {
  const anchors: RootAnchors = { turnStarts: new Map() };
  for (const { time, event } of events) {
    if (event.type === "status" && event.status === "running") {
      anchors.startMs ??= time;
      continue;
    }
    if (event.type !== "iteration" || event.engine.depth !== 0) continue;
    const engine = event.engine;
    if (engine.type === "iteration_start" && !anchors.turnStarts.has(engine.iteration)) {
      anchors.turnStarts.set(engine.iteration, time);
      anchors.startMs ??= time;
    }
  }
  return anchors;
}

/** What `placeInTime` starts from. */
export interface PlacementStart {
  /** When the scope's first step started (at worst, when the analysis was created). */
  startMs: number;
  anchors?: RootAnchors | undefined;
  /** The analysis still runs: a scope whose steps are all done is waiting for its model. */
  live: boolean;
}

/**
 * Gives every root turn and cell of a scope (and of its nested analyses) a start and an
 * end. Sub-calls carry their own times (record, job); turns and cells do not, so they
 * are laid end to end from the scope's start with their durations — an analysis's loop
 * is sequential — and pinned where better evidence exists: a cell started no later than
 * its first call was issued and ended no earlier than its last call ended, and the top
 * analysis's events show where it paused (see `afterPause`).
 */
export function placeInTime(scope: TrajectoryScope, start: PlacementStart): void {
  const anchors = start.anchors;
  let t = start.startMs;
  let running = false;
  const calls = new Map<string, TrajectorySubCall>();
  for (const iteration of scope.iterations) {
    for (const cell of iteration.cells) for (const sub of cell.subCalls) calls.set(sub.key, sub);
  }
  for (const iteration of scope.iterations) {
    t = afterPause(t, anchors?.turnStarts.get(iteration.iteration));
    const turn = iteration.root;
    if (turn) {
      turn.startMs = t;
      turn.endMs = turn.startMs + turn.durationMs;
      t = turn.endMs;
    }
    for (const cell of iteration.cells) {
      for (const sub of cell.subCalls) placeRepeat(sub, calls);
      const { firstIssued, lastEnded } = callSpan(cell.subCalls);
      cell.startMs = firstIssued === undefined ? t : Math.min(t, firstIssued);
      if (cell.pending) {
        running = true;
        t = Math.max(t, lastEnded ?? t);
      } else {
        // A cell re-run after its root waited for its calls elsewhere reports the
        // re-run's time only: it lasted at least until its last call's answer.
        cell.endMs = Math.max(cell.startMs + (cell.durationMs ?? 0), lastEnded ?? 0);
        t = cell.endMs;
      }
      for (const sub of cell.subCalls) placeCall(sub, cell.startMs, start.live);
    }
  }
  if (scope.finalTurn) {
    scope.finalTurn.startMs = t;
    scope.finalTurn.endMs = t + scope.finalTurn.durationMs;
    t = scope.finalTurn.endMs;
  }
  if (start.live && !running && !scope.finalTurn) {
    // Every step so far is done and the analysis goes on: its next root turn is out.
    const next = (scope.iterations.at(-1)?.iteration ?? 0) + 1;
    scope.waitingSinceMs = afterPause(t, anchors?.turnStarts.get(next));
  }
}

/**
 * An event is stored a moment after its step began (its write waits for the worker's
 * event loop, up to a few hundred ms under load): the chain of durations is the better
 * start, unless the event is so much later that the analysis really paused there (a
 * crashed worker's job picked up again, say).
 */
const EVENT_LAG_MS = 500;

function afterPause(chained: number, anchored: number | undefined): number {
  return anchored !== undefined && anchored - chained > EVENT_LAG_MS ? anchored : chained;
}

/**
 * A repeat of an earlier identical call is answered when that call is: a moment on the
 * timeline at its answer (when the earlier call is in the same scope and placed).
 */
function placeRepeat(sub: TrajectorySubCall, calls: ReadonlyMap<string, TrajectorySubCall>) {
  if (sub.sameAs === undefined || sub.startMs !== undefined) return;
  const answeredAt = calls.get(sub.sameAs)?.endMs;
  if (answeredAt === undefined) return;
  sub.startMs = answeredAt;
  sub.endMs = answeredAt;
}

/** A call's own times where only its job knows them, then its nested analysis's steps. */
function placeCall(sub: TrajectorySubCall, cellStartMs: number, live: boolean): void {
  if (sub.pending && sub.startMs === undefined && sub.state === "running") {
    const taken = sub.job?.processedMs;
    if (taken !== undefined) sub.startMs = Math.max(taken, sub.issuedMs ?? taken);
  }
  if (!sub.nested) return;
  placeInTime(sub.nested, {
    startMs: sub.startMs ?? sub.issuedMs ?? cellStartMs,
    // A nested analysis waits for its model only while its call is unanswered.
    live: live && sub.pending,
  });
}

function callSpan(subCalls: readonly TrajectorySubCall[]): {
  firstIssued?: number;
  lastEnded?: number;
} {
  let firstIssued: number | undefined;
  let lastEnded: number | undefined;
  for (const sub of subCalls) {
    const issued = sub.issuedMs ?? sub.startMs;
    if (issued !== undefined) firstIssued = Math.min(firstIssued ?? issued, issued);
    if (sub.endMs !== undefined) lastEnded = Math.max(lastEnded ?? sub.endMs, sub.endMs);
  }
  return {
    ...(firstIssued === undefined ? {} : { firstIssued }),
    ...(lastEnded === undefined ? {} : { lastEnded }),
  };
}
