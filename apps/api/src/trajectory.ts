import type { JournalRecord, RlmResult } from "@rlm/core";
import { type AnalysisView, isTerminalStatus, type JournalEntry } from "@rlm/queue";
import type {
  Trajectory,
  TrajectoryCell,
  TrajectoryIteration,
  TrajectoryOutcome,
  TrajectoryRootTurn,
  TrajectoryScope,
  TrajectorySubCall,
} from "./trajectory-types.js";

// Journal keys as `journalKeys` (core) builds them, relative to a scope.
const ROOT_KEY = /^root:(\d+)$/;
const CELL_KEY = /^cell:(\d+):(\d+)$/;
const SUB_KEY = /^sub:(\d+)\.(\d+):[^:/]+:\d+$/;
const FINAL_KEY = "root:final";

/**
 * Arranges an analysis's record and journal for the viewer: root turns, cells and
 * sub-calls by iteration, sub-calls grouped under their cell (`sub:<iteration>.<block>:…`),
 * nested analyses (keys under `<sub-call key>/`) as child scopes of their sub-call.
 *
 * Pure: `entries` is what `listJournalRecords` returns for the analysis (any order).
 * Steps still under way show as `pending` placeholders: a cell whose sub-calls finished
 * before it did, or a sub-call whose nested analysis has steps but no answer yet.
 * Keys of unknown shape are ignored, so a newer engine's extra records do not break
 * an older viewer.
 */
export function buildTrajectory(view: AnalysisView, entries: readonly JournalEntry[]): Trajectory {
  // Record and journal have separate TTLs: when the journal is gone, the result's
  // replHistory still shows the code that ran.
  const fallback = entries.length === 0 ? view.result : undefined;
  return {
    id: view.id,
    status: view.status,
    terminal: isTerminalStatus(view.status),
    query: view.query,
    progress: view.progress,
    cancelRequested: view.cancelRequested,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    ...(view.error ? { error: view.error } : {}),
    ...(view.result ? { outcome: toOutcome(view.result) } : {}),
    source: fallback ? "result" : "journal",
    root: fallback ? scopeFromResult(fallback) : buildScope("", entries),
  };
}

/** Builds one scope from entries whose keys all start with `prefix`. */
function buildScope(prefix: string, entries: readonly JournalEntry[]): TrajectoryScope {
  const iterations = new Map<number, TrajectoryIteration>();
  const cells = new Map<string, TrajectoryCell>();
  const subCalls = new Map<string, TrajectorySubCall>();
  const nestedEntries = new Map<string, JournalEntry[]>();
  let finalTurn: TrajectoryRootTurn | undefined;

  const iterationAt = (n: number): TrajectoryIteration => {
    let iteration = iterations.get(n);
    if (!iteration) {
      iteration = { iteration: n, cells: [] };
      iterations.set(n, iteration);
    }
    return iteration;
  };
  const cellAt = (n: number, block: number): TrajectoryCell => {
    const id = `${n}.${block}`;
    let cell = cells.get(id);
    if (!cell) {
      cell = { key: `${prefix}cell:${n}:${block}`, block, pending: true, subCalls: [] };
      cells.set(id, cell);
      iterationAt(n).cells.push(cell);
    }
    return cell;
  };
  const subCallAt = (relativeKey: string): TrajectorySubCall | undefined => {
    const match = SUB_KEY.exec(relativeKey);
    if (!match) return undefined;
    let subCall = subCalls.get(relativeKey);
    if (!subCall) {
      subCall = { key: prefix + relativeKey, pending: true };
      subCalls.set(relativeKey, subCall);
      cellAt(Number(match[1]), Number(match[2])).subCalls.push(subCall);
    }
    return subCall;
  };

  for (const entry of entries) {
    const relative = entry.key.slice(prefix.length);
    const slash = relative.indexOf("/");
    if (slash !== -1) {
      // A step of a nested analysis: grouped by the sub-call key it hangs under.
      const owner = relative.slice(0, slash);
      const group = nestedEntries.get(owner) ?? [];
      group.push(entry);
      nestedEntries.set(owner, group);
      continue;
    }
    placeRecord(relative, entry, { iterationAt, cellAt, subCallAt });
    if (relative === FINAL_KEY && entry.record.kind === "root") {
      finalTurn = toRootTurn(entry.key, entry.record);
    }
  }

  for (const [owner, group] of nestedEntries) {
    const subCall = subCallAt(owner);
    if (subCall) subCall.nested = buildScope(`${prefix}${owner}/`, group);
  }

  const collator = new Intl.Collator("en", { numeric: true });
  const sorted = [...iterations.values()].sort((a, b) => a.iteration - b.iteration);
  for (const iteration of sorted) {
    iteration.cells.sort((a, b) => a.block - b.block);
    for (const cell of iteration.cells)
      cell.subCalls.sort((a, b) => collator.compare(a.key, b.key));
  }
  return { prefix, iterations: sorted, ...(finalTurn ? { finalTurn } : {}) };
}

interface Placement {
  iterationAt(n: number): TrajectoryIteration;
  cellAt(n: number, block: number): TrajectoryCell;
  subCallAt(relativeKey: string): TrajectorySubCall | undefined;
}

/** Puts one record of the scope itself where it belongs (kind and key must agree). */
function placeRecord(relative: string, entry: JournalEntry, at: Placement): void {
  const { record } = entry;
  const root = ROOT_KEY.exec(relative);
  if (root && record.kind === "root") {
    at.iterationAt(Number(root[1])).root = toRootTurn(entry.key, record);
    return;
  }
  const cellKey = CELL_KEY.exec(relative);
  if (cellKey && record.kind === "cell") {
    const cell = at.cellAt(Number(cellKey[1]), Number(cellKey[2]));
    Object.assign(cell, {
      pending: false,
      code: record.code,
      output: record.output,
      durationMs: record.durationMs,
      subCallCount: record.subCalls,
      sandboxLost: record.sandboxLost,
      ...(record.error !== undefined ? { error: record.error } : {}),
      ...(record.final !== undefined ? { final: record.final } : {}),
    });
    return;
  }
  if (record.kind === "sub") {
    const subCall = at.subCallAt(relative);
    if (!subCall) return;
    Object.assign(subCall, {
      pending: false,
      query: record.query,
      contextChars: record.contextChars,
      usage: record.usage,
      byModel: record.byModel,
      calls: record.calls,
      durationMs: record.durationMs,
      ...(record.answer !== undefined ? { answer: record.answer } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
    });
  }
}

function toRootTurn(
  key: string,
  record: Extract<JournalRecord, { kind: "root" }>,
): TrajectoryRootTurn {
  return {
    key,
    content: record.content,
    model: record.model,
    usage: record.usage,
    durationMs: record.durationMs,
  };
}

function toOutcome(result: RlmResult): TrajectoryOutcome {
  return {
    answer: result.answer,
    finishReason: result.finishReason,
    iterations: result.iterations,
    totalCalls: result.totalCalls,
    durationMs: result.durationMs,
    usage: result.usage,
    ...(result.error ? { error: result.error } : {}),
  };
}

/** Cells from `replHistory`, for a finished analysis whose journal has expired. */
function scopeFromResult(result: RlmResult): TrajectoryScope {
  const iterations = new Map<number, TrajectoryIteration>();
  for (const entry of result.replHistory) {
    const iteration = iterations.get(entry.iteration) ?? { iteration: entry.iteration, cells: [] };
    iterations.set(entry.iteration, iteration);
    const block = iteration.cells.length;
    iteration.cells.push({
      key: `cell:${entry.iteration}:${block}`,
      block,
      pending: false,
      code: entry.code,
      output: entry.output,
      durationMs: entry.durationMs,
      subCallCount: entry.subCalls,
      subCalls: [],
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    });
  }
  return { prefix: "", iterations: [...iterations.values()] };
}
