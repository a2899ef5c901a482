import type { JournalRecord, RlmResult } from "@rlm/core";
import { type AnalysisView, isTerminalStatus, type JournalEntry } from "@rlm/queue";
import type { AnalysisJobs, JobCall } from "./analysis-jobs.js";
import { trajectoryFigures } from "./trajectory-figures.js";
import { placeInTime, type RootAnchors } from "./trajectory-timing.js";
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
// A question of a session keys its cells `q<n>/<iteration>.<block>` (core's
// `cellKeyPrefix`): the slash there is not a nested scope's.
const SUB_KEY = /^sub:(?:q\d+\/)?(\d+)\.(\d+):[^:/]+:\d+$/;
const SESSION_CELL = /^sub:q\d+\//;
const FINAL_KEY = "root:final";

/** What besides the record and the journal the trajectory is built from (all optional). */
export interface TrajectorySources {
  /** The analysis's job tree: workers, issue times, calls not answered yet. */
  jobs?: AnalysisJobs;
  /** First words of each call's context, by call key. */
  previews?: ReadonlyMap<string, string>;
  /** Times of the root analysis's steps from its event stream. */
  anchors?: RootAnchors;
  /** "Now", in ms since the epoch (default `Date.now()`). */
  nowMs?: number;
}

/**
 * Arranges an analysis's record and journal for the viewer: root turns, cells and
 * sub-calls by iteration, sub-calls grouped under their cell (`sub:<iteration>.<block>:…`),
 * nested analyses (keys under `<sub-call key>/`) as child scopes of their sub-call.
 *
 * Pure: `entries` is what `listJournalRecords` returns for the analysis (any order).
 * Steps still under way show as `pending`: a cell whose sub-calls finished before it
 * did, a call known from its job (`sources.jobs`) or from its nested analysis's steps.
 * Keys of unknown shape are ignored, so a newer engine's extra records do not break an
 * older viewer.
 */
export function buildTrajectory(
  view: AnalysisView,
  entries: readonly JournalEntry[],
  sources: TrajectorySources = {},
): Trajectory {
  const nowMs = sources.nowMs ?? Date.now();
  const terminal = isTerminalStatus(view.status);
  // Record and journal have separate TTLs: when the journal is gone, the result's
  // replHistory still shows the code that ran.
  const fallback = entries.length === 0 ? view.result : undefined;
  const calls = [...(sources.jobs?.calls.values() ?? [])];
  const context = { sources, terminal };
  const root = fallback ? scopeFromResult(fallback) : buildScope("", entries, calls, context);
  if (!fallback) {
    placeInTime(root, {
      startMs: sources.anchors?.startMs ?? Date.parse(view.createdAt),
      anchors: sources.anchors,
      // A queued analysis has not started: nothing of it is waiting for a model yet.
      live: !terminal && view.status !== "queued",
    });
  }
  return {
    id: view.id,
    status: view.status,
    terminal,
    query: view.query,
    progress: view.progress,
    figures: trajectoryFigures(root, view.progress, terminal),
    cancelRequested: view.cancelRequested,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    generatedMs: nowMs,
    ...(view.error ? { error: view.error } : {}),
    ...(view.result ? { outcome: toOutcome(view.result) } : {}),
    source: fallback ? "result" : "journal",
    root,
  };
}

interface BuildContext {
  sources: TrajectorySources;
  terminal: boolean;
}

/** Builds one scope from the records and job calls whose keys all start with `prefix`. */
function buildScope(
  prefix: string,
  entries: readonly JournalEntry[],
  calls: readonly JobCall[],
  context: BuildContext,
): TrajectoryScope {
  const iterations = new Map<number, TrajectoryIteration>();
  const cells = new Map<string, TrajectoryCell>();
  const subCalls = new Map<string, TrajectorySubCall>();
  const nestedEntries = new Map<string, JournalEntry[]>();
  const nestedCalls = new Map<string, JobCall[]>();
  const jobCalls = new Map<TrajectorySubCall, JobCall>();
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
      subCall = { key: prefix + relativeKey, index: 0, state: "running", pending: true };
      subCalls.set(relativeKey, subCall);
      cellAt(Number(match[1]), Number(match[2])).subCalls.push(subCall);
    }
    return subCall;
  };
  /** The sub-call key a nested step hangs under, or undefined for a step of this scope. */
  const ownerOf = (key: string): string | undefined => {
    const from = prefix.length + (SESSION_CELL.exec(key.slice(prefix.length))?.[0].length ?? 0);
    const slash = key.indexOf("/", from);
    return slash === -1 ? undefined : key.slice(prefix.length, slash);
  };

  for (const entry of entries) {
    const owner = ownerOf(entry.key);
    if (owner !== undefined) {
      nestedEntries.set(owner, [...(nestedEntries.get(owner) ?? []), entry]);
      continue;
    }
    const relative = entry.key.slice(prefix.length);
    placeRecord(relative, entry, { iterationAt, cellAt, subCallAt });
    if (relative === FINAL_KEY && entry.record.kind === "root") {
      finalTurn = toRootTurn(entry.key, entry.record);
    }
  }
  for (const call of calls) {
    const owner = ownerOf(call.key);
    if (owner !== undefined) {
      nestedCalls.set(owner, [...(nestedCalls.get(owner) ?? []), call]);
      continue;
    }
    const subCall = subCallAt(call.key.slice(prefix.length));
    if (subCall) jobCalls.set(subCall, call);
  }

  for (const owner of new Set([...nestedEntries.keys(), ...nestedCalls.keys()])) {
    const subCall = subCallAt(owner);
    if (!subCall) continue;
    const nested = buildScope(
      `${prefix}${owner}/`,
      nestedEntries.get(owner) ?? [],
      nestedCalls.get(owner) ?? [],
      context,
    );
    if (nested.iterations.length > 0 || nested.finalTurn) subCall.nested = nested;
  }

  const sorted = [...iterations.values()].sort((a, b) => a.iteration - b.iteration);
  for (const iteration of sorted) {
    iteration.cells.sort((a, b) => a.block - b.block);
    for (const cell of iteration.cells) {
      for (const sub of cell.subCalls) decorateSubCall(sub, jobCalls.get(sub), context);
      // Numbered in the order the code issued them: chunk 3 is call #3.
      cell.subCalls.sort(issueOrder);
      cell.subCalls.forEach((sub, position) => (sub.index = position + 1));
    }
  }
  const job = context.sources.jobs?.scopes.get(prefix);
  return {
    prefix,
    iterations: sorted,
    ...(finalTurn ? { finalTurn } : {}),
    ...(job ? { job } : {}),
  };
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
    // A repeat of an earlier identical call carries that call's record (times included):
    // it is placed at the earlier call's answer instead (see trajectory-timing.ts).
    const own = record.sameAs === undefined;
    Object.assign(subCall, {
      pending: false,
      state: record.error === undefined ? "ok" : "error",
      query: record.query,
      contextChars: record.contextChars,
      usage: record.usage,
      byModel: record.byModel,
      calls: record.calls,
      durationMs: record.durationMs,
      ...(own && record.startedAt !== undefined
        ? { startMs: record.startedAt, endMs: record.startedAt + record.durationMs }
        : {}),
      ...(own && record.attempts !== undefined ? { attempts: record.attempts } : {}),
      ...(record.sameAs !== undefined
        ? { sameAs: scopePrefixOf(entry.key, relative) + record.sameAs }
        : {}),
      ...(record.answer !== undefined ? { answer: record.answer } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
    });
  }
}

/**
 * Adds what the call's job says (query while pending, issue time, job, slice) and its
 * preview, and settles the state of a call without a record.
 */
function decorateSubCall(
  sub: TrajectorySubCall,
  call: JobCall | undefined,
  { sources, terminal }: BuildContext,
): void {
  const preview = sources.previews?.get(sub.key);
  if (preview !== undefined) sub.preview = preview;
  if (call) {
    sub.job = call.job;
    sub.issuedMs = call.issuedMs;
    sub.query ??= call.query;
    sub.contextChars ??= call.contextRef?.chars;
    const charStart = call.contextRef?.slice?.charStart;
    if (charStart !== undefined && call.contextRef) {
      sub.slice = { start: charStart, end: charStart + call.contextRef.chars };
    }
  }
  if (!sub.pending) return;
  if (sub.nested) {
    sub.state = terminal ? "cancelled" : "running";
  } else if (terminal || call?.job.finishedMs !== undefined) {
    // Its analysis (or its job) ended without an answer for it: never made, or dropped.
    sub.state = "cancelled";
  } else {
    sub.state = call?.job.processedMs !== undefined ? "running" : "queued";
  }
  sub.pending = sub.state === "running" || sub.state === "queued";
}

/** Issue time from the job, else start time from the record, else key order. */
function issueOrder(a: TrajectorySubCall, b: TrajectorySubCall): number {
  const at = (sub: TrajectorySubCall) => sub.issuedMs ?? sub.startMs ?? Number.POSITIVE_INFINITY;
  return at(a) - at(b) || collator.compare(a.key, b.key);
}

const collator = new Intl.Collator("en", { numeric: true });

/** The scope prefix of a full key, given its part relative to the scope. */
function scopePrefixOf(fullKey: string, relative: string): string {
  return fullKey.slice(0, fullKey.length - relative.length);
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
