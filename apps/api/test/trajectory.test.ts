import { type AnalysisView, listJournalRecords, RedisJournal } from "@rlm/queue";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTrajectory } from "../src/index.js";
import { deleteKeysUnder, REDIS_OPTIONS, uniquePrefix } from "./helpers.js";
import { SAMPLE_KEYS, sampleResult, writeSampleJournal } from "./fixtures.js";

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
