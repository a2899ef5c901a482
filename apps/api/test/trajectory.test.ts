import { journalKeys, MemoryJournal } from "@rlm/core";
import { type AnalysisView, type JournalEntry, listJournalRecords, RedisJournal } from "@rlm/queue";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalysisJobs } from "../src/analysis-jobs.js";
import { buildTrajectory, type TrajectoryJob } from "../src/index.js";
import {
  cellRecord,
  rootRecord,
  SAMPLE_KEYS,
  sampleResult,
  subKey,
  subRecord,
  writeSampleJournal,
} from "./fixtures.js";
import { deleteKeysUnder, REDIS_OPTIONS, uniquePrefix } from "./helpers.js";

const prefix = uniquePrefix("trajectory");
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_OPTIONS);
});

afterAll(async () => {
  await deleteKeysUnder(prefix);
  await redis.quit();
});

function view(id: string, overrides: Partial<AnalysisView> = {}): AnalysisView {
  return {
    id,
    status: "running",
    query: "What happened?",
    progress: {
      iteration: 3,
      maxIterations: 10,
      subCallsDone: 4,
      subCallsTotal: 5,
      inputTokens: 1000,
      outputTokens: 200,
      costUsd: 0.01,
    },
    cancelRequested: false,
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:05.000Z",
    ...overrides,
  };
}

describe("buildTrajectory", () => {
  it("arranges a Redis journal by iteration, cell, sub-call and nested scope", async () => {
    const analysisId = "an_trajectory1";
    await writeSampleJournal(new RedisJournal({ redis, analysisId, prefix }));
    const entries = await listJournalRecords(redis, analysisId, { prefix });
    const trajectory = buildTrajectory(view(analysisId), entries);

    expect(trajectory).toMatchObject({ id: analysisId, status: "running", terminal: false });
    expect(trajectory.source).toBe("journal");
    const { root } = trajectory;
    expect(root.prefix).toBe("");
    expect(root.iterations.map((it) => it.iteration)).toEqual([1, 2, 3]);
    expect(root.finalTurn).toMatchObject({ key: "root:final", content: "FINAL(done)" });

    // Iteration 1: the turn, one cell, its two sub-calls in key order.
    const [first, second, third] = root.iterations;
    expect(first!.root).toMatchObject({
      key: "root:1",
      content: "Let me look.",
      model: "root-model",
    });
    expect(first!.cells).toHaveLength(1);
    const cell = first!.cells[0]!;
    expect(cell).toMatchObject({ key: "cell:1:0", block: 0, pending: false, output: "printed" });
    expect(cell.subCalls.map((sub) => sub.key)).toEqual([
      SAMPLE_KEYS.plainSub,
      SAMPLE_KEYS.nestedSub,
    ]);
    const [plain, nestedCall] = cell.subCalls;
    expect(plain).toMatchObject({
      pending: false,
      query: "plain question",
      answer: "plain answer",
    });
    expect(plain!.nested).toBeUndefined();

    // The nested analysis hangs under its sub-call, with full keys of its own.
    expect(nestedCall).toMatchObject({ query: "nested question", answer: "nested answer" });
    const nested = nestedCall!.nested!;
    expect(nested.prefix).toBe(`${SAMPLE_KEYS.nestedSub}/`);
    expect(nested.iterations).toHaveLength(1);
    expect(nested.iterations[0]!.root).toMatchObject({
      key: `${SAMPLE_KEYS.nestedSub}/root:1`,
      content: "inner turn",
    });
    const innerCell = nested.iterations[0]!.cells[0]!;
    expect(innerCell).toMatchObject({
      key: `${SAMPLE_KEYS.nestedSub}/cell:1:0`,
      code: "inner code",
    });
    expect(innerCell.subCalls).toEqual([
      expect.objectContaining({
        key: `${SAMPLE_KEYS.nestedSub}/${SAMPLE_KEYS.nestedInnerSub}`,
        answer: "deep answer",
      }),
    ]);

    // Iteration 2: cell 2.0 finished with FINAL and an error; cell 2.1 still runs, its
    // nested sub-call has started (a turn journaled) but has no record yet.
    expect(second!.cells.map((c) => [c.block, c.pending])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(second!.cells[0]).toMatchObject({ final: { answer: "x", via: "FINAL" }, error: "oops" });
    const pendingCall = second!.cells[1]!.subCalls[0]!;
    expect(pendingCall).toMatchObject({ key: SAMPLE_KEYS.pendingNestedSub, pending: true });
    expect(pendingCall.query).toBeUndefined();
    expect(pendingCall.nested!.iterations[0]!.root!.content).toBe("pending inner turn");

    // Iteration 3: no turn record, a running cell with a finished sub-call.
    expect(third!.root).toBeUndefined();
    expect(third!.cells[0]).toMatchObject({ key: "cell:3:0", pending: true });
    expect(third!.cells[0]!.subCalls[0]).toMatchObject({ answer: "running a", pending: false });
  });

  it("places a session question's sub-calls (cell keys q<n>/…) under their cells, nested ones too", () => {
    const hash = "b".repeat(16);
    const plain = `sub:q2/1.0:${hash}:0`;
    const nested = `sub:q2/1.0:${"c".repeat(16)}:0`;
    const trajectory = buildTrajectory(view("an_question"), [
      { key: "root:1", record: rootRecord("Reusing text.") },
      { key: "cell:1:0", record: cellRecord("print(history.length)", "2") },
      { key: plain, record: subRecord("How many?", "3") },
      { key: nested, record: subRecord("Summarize", "short") },
      { key: `${nested}/root:1`, record: rootRecord("Nested turn.") },
      { key: `${nested}/cell:1:0`, record: cellRecord("print(1)", "1") },
      { key: `${nested}/sub:1.0:${hash}:0`, record: subRecord("Deeper?", "yes") },
    ]);
    const cell = trajectory.root.iterations[0]!.cells[0]!;
    expect(cell.subCalls.map((sub) => sub.key).sort()).toEqual([plain, nested].sort());
    expect(cell.subCalls.find((sub) => sub.key === plain)).toMatchObject({ answer: "3" });
    const inner = cell.subCalls.find((sub) => sub.key === nested)!.nested;
    expect(inner?.prefix).toBe(`${nested}/`);
    expect(inner?.iterations[0]?.cells[0]?.subCalls[0]).toMatchObject({ answer: "yes" });
  });

  it("shows no steps for an analysis that has not started", () => {
    const trajectory = buildTrajectory(view("an_empty", { status: "queued" }), []);
    expect(trajectory.root).toEqual({ prefix: "", iterations: [] });
    expect(trajectory.outcome).toBeUndefined();
  });

  it("adds the outcome, and falls back to replHistory when the journal is gone", () => {
    const result = sampleResult("forty-two");
    const trajectory = buildTrajectory(view("an_done", { status: "completed", result }), []);
    expect(trajectory.terminal).toBe(true);
    expect(trajectory.outcome).toMatchObject({ answer: "forty-two", finishReason: "final" });
    expect(trajectory.outcome!.usage.byModel).toHaveProperty("sub-model");
    expect(trajectory.source).toBe("result");
    expect(trajectory.root.iterations.map((it) => it.cells.map((c) => c.code))).toEqual([
      ["print(1)", "print(2)"],
      ["boom()"],
    ]);
    expect(trajectory.root.iterations[1]!.cells[0]!.error).toBe("ReferenceError");
  });

  it("ignores keys of unknown shape and records of the wrong kind", () => {
    const trajectory = buildTrajectory(view("an_odd"), [
      {
        key: "weird:1",
        record: { kind: "root", content: "?", model: "m", usage: usageOf(), durationMs: 1 },
      },
      {
        key: "root:1",
        record: {
          kind: "cell",
          code: "",
          output: "",
          durationMs: 1,
          subCalls: 0,
          sandboxLost: false,
        },
      },
    ]);
    expect(trajectory.root.iterations).toEqual([]);
  });
});

function usageOf() {
  return { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null };
}

describe("buildTrajectory with the job tree and the event stream", () => {
  const T0 = Date.parse("2025-01-01T00:00:01.000Z");
  const plainJob = (overrides: Partial<TrajectoryJob> = {}): TrajectoryJob => ({
    queue: "rlm-llm",
    id: "an_jobs-b1",
    worker: "llm-1",
    retries: 0,
    addedMs: T0 + 900,
    processedMs: T0 + 950,
    ...overrides,
  });
  const keys = { first: subKey(1, 0, "a"), second: subKey(1, 0, "b"), third: subKey(1, 0, "c") };

  async function journalOf(): Promise<JournalEntry[]> {
    const journal = new MemoryJournal();
    await journal.putIfAbsent(journalKeys.root(1), rootRecord("Fan out."));
    await journal.putIfAbsent(keys.second, {
      ...subRecord("count", "2"),
      startedAt: T0 + 1_000,
      attempts: 2,
    });
    await journal.putIfAbsent(keys.first, { ...subRecord("count", "1"), startedAt: T0 + 1_100 });
    return journal.entries().map(([key, record]) => ({ key, record }));
  }

  function jobsOf(job: TrajectoryJob): AnalysisJobs {
    const call = (key: string, issuedMs: number, charStart: number) => ({
      key,
      query: "count",
      issuedMs,
      contextRef: {
        sha256: "d".repeat(64),
        kind: "string" as const,
        chars: 1200,
        bytes: 1200,
        slice: { start: charStart, end: charStart + 1200, charStart },
      },
      job,
    });
    return {
      scopes: new Map([["", { ...job, queue: "rlm-root", id: "an_jobs", worker: "root-1" }]]),
      calls: new Map([
        [keys.first, call(keys.first, T0 + 900, 0)],
        [keys.second, call(keys.second, T0 + 901, 1200)],
        [keys.third, call(keys.third, T0 + 902, 2400)],
      ]),
    };
  }

  const anchors = {
    startMs: T0,
    turnStarts: new Map([[1, T0]]),
  };

  it("numbers calls in issue order, adds slices and previews, and shows the unanswered one running", async () => {
    const trajectory = buildTrajectory(view("an_jobs"), await journalOf(), {
      jobs: jobsOf(plainJob()),
      previews: new Map([[keys.third, "## Region 3"]]),
      anchors,
      nowMs: T0 + 5_000,
    });
    const cell = trajectory.root.iterations[0]!.cells[0]!;
    expect(cell.pending).toBe(true);
    expect(cell.subCalls.map((sub) => [sub.key, sub.index, sub.state])).toEqual([
      [keys.first, 1, "ok"],
      [keys.second, 2, "ok"],
      [keys.third, 3, "running"],
    ]);
    const [first, second, third] = cell.subCalls;
    expect(first).toMatchObject({ slice: { start: 0, end: 1200 }, issuedMs: T0 + 900 });
    expect(second).toMatchObject({ attempts: 2, startMs: T0 + 1_000, endMs: T0 + 1_300 });
    expect(third).toMatchObject({
      pending: true,
      query: "count",
      preview: "## Region 3",
      slice: { start: 2400, end: 3600 },
      startMs: T0 + 950,
      job: { worker: "llm-1" },
    });
    expect(trajectory.root.job?.worker).toBe("root-1");
    expect(trajectory.figures.subCalls).toEqual({ done: 2, failed: 0, started: 5, pending: 3 });
  });

  it("places turns and cells on the time axis from their durations and their calls", async () => {
    const entries = await journalOf();
    const journal = new MemoryJournal();
    await journal.putIfAbsent(
      journalKeys.cell(1, 0),
      cellRecord("fan out", "done", { subCalls: 2 }),
    );
    entries.push(...journal.entries().map(([key, record]) => ({ key, record })));
    const running = view("an_timing", { progress: { ...view("x").progress, subCallsTotal: 2 } });
    // The event of iteration 2 was stored a little after the cell ended (event lag).
    const lagged = {
      ...anchors,
      turnStarts: new Map([
        [1, T0],
        [2, T0 + 1_450],
      ]),
    };
    const trajectory = buildTrajectory(running, entries, { anchors: lagged });
    const iteration = trajectory.root.iterations[0]!;
    expect(iteration.root).toMatchObject({ startMs: T0, endMs: T0 + 800 });
    // The cell starts when the turn ended and lasts until its last call's answer, past
    // its own 40 ms (a cell re-run after waiting for its calls reports the re-run only).
    expect(iteration.cells[0]).toMatchObject({ startMs: T0 + 800, endMs: T0 + 1_400 });
    // Everything done, the analysis running: its next turn is out since the cell ended.
    expect(trajectory.root.waitingSinceMs).toBe(T0 + 1_400);
    // An event much later than the chain says the analysis paused (a worker lost, say).
    const paused = {
      ...anchors,
      turnStarts: new Map([
        [1, T0],
        [2, T0 + 9_000],
      ]),
    };
    expect(buildTrajectory(running, entries, { anchors: paused }).root.waitingSinceMs).toBe(
      T0 + 9_000,
    );
    // Tokens and cost are the journal's: one turn and two calls, before any iteration end.
    expect(trajectory.figures.modelCalls).toBe(3);
    expect(trajectory.figures.usage).toMatchObject({
      inputTokens: 100 + 50 + 50,
      outputTokens: 20 + 10 + 10,
    });
    expect(trajectory.figures.usage.costUsd).toBeCloseTo(0.0012 * 3, 10);
  });

  it("places a repeat of an identical call at that call's answer, without its times", async () => {
    const entries = await journalOf();
    const journal = new MemoryJournal();
    const repeat = subKey(1, 0, "a", 1);
    await journal.putIfAbsent(repeat, {
      ...subRecord("count", "2"),
      startedAt: T0 + 1_000,
      attempts: 2,
      calls: 0,
      durationMs: 0,
      sameAs: keys.second,
    });
    entries.push(...journal.entries().map(([key, record]) => ({ key, record })));
    const trajectory = buildTrajectory(view("an_repeat"), entries, { anchors });
    const sub = trajectory.root.iterations[0]!.cells[0]!.subCalls.find((s) => s.key === repeat)!;
    expect(sub).toMatchObject({ sameAs: keys.second, startMs: T0 + 1_300, endMs: T0 + 1_300 });
    expect(sub.attempts).toBeUndefined();
  });

  it("marks calls never answered as not run once the analysis has ended", async () => {
    const trajectory = buildTrajectory(
      view("an_ended", { status: "cancelled" }),
      await journalOf(),
      { jobs: jobsOf(plainJob({ finishedMs: T0 + 2_000, retries: 1 })), anchors },
    );
    const third = trajectory.root.iterations[0]!.cells[0]!.subCalls[2]!;
    expect(third).toMatchObject({ state: "cancelled", pending: false, job: { retries: 1 } });
    expect(trajectory.figures.subCalls).toEqual({ done: 2, failed: 0, started: 3, pending: 0 });
    expect(trajectory.root.waitingSinceMs).toBeUndefined();
  });
});
