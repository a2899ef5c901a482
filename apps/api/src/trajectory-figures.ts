import { UsageTracker } from "@rlm/core";
import type { AnalysisProgress } from "@rlm/queue";
import type { TrajectoryFigures, TrajectoryScope } from "./trajectory-types.js";

/**
 * The live figures of an analysis from its journal and jobs. Usage sums every journaled
 * model call: each root turn, and each answered sub-call's record (which includes its
 * nested analysis); a nested analysis still running adds its own journaled steps. So
 * tokens and cost move as each call is journaled, and at the end they are the result's.
 */
export function trajectoryFigures(
  root: TrajectoryScope,
  progress: AnalysisProgress,
  terminal: boolean,
): TrajectoryFigures {
  const tracker = new UsageTracker();
  const workers = new Map<string, number>();
  addScope(root, tracker, workers);

  let done = 0;
  let failed = 0;
  let pending = 0;
  let cancelled = 0;
  for (const iteration of root.iterations) {
    for (const cell of iteration.cells) {
      for (const sub of cell.subCalls) {
        if (sub.state === "ok" || sub.state === "error") done += 1;
        if (sub.state === "error") failed += 1;
        if (sub.pending) pending += 1;
        if (sub.state === "cancelled") cancelled += 1;
      }
    }
  }
  // Calls a cell issued in the last moment may not be in a job yet; the record counts them.
  const unseen = terminal ? 0 : Math.max(0, progress.subCallsTotal - (done + pending + cancelled));
  pending += unseen;
  return {
    subCalls: { done, failed, started: done + pending + cancelled, pending },
    modelCalls: tracker.calls,
    usage: tracker.summary(),
    workers: [...workers]
      .map(([name, calls]) => ({ name, calls }))
      .sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name)),
  };
}

/** Adds a scope's journaled usage to `tracker` (none: already counted) and its workers. */
function addScope(
  scope: TrajectoryScope,
  tracker: UsageTracker | undefined,
  workers: Map<string, number>,
): void {
  const turns = [...scope.iterations.map((iteration) => iteration.root), scope.finalTurn];
  for (const turn of turns) if (turn) tracker?.record(turn.model, turn.usage);
  for (const iteration of scope.iterations) {
    for (const cell of iteration.cells) {
      for (const sub of cell.subCalls) {
        const worker = sub.job?.worker;
        if (worker !== undefined) workers.set(worker, (workers.get(worker) ?? 0) + 1);
        // A journaled call's record counts it whole, nested analysis included.
        const journaled = sub.byModel !== undefined && sub.calls !== undefined;
        if (journaled) tracker?.recordReplayed(sub.byModel!, sub.calls!);
        if (sub.nested) addScope(sub.nested, journaled ? undefined : tracker, workers);
      }
    }
  }
}
