// Figure 1: fan-out efficiency = ideal schedule / measured wall time, where
// ideal = root calls × L + ceil(N / C) × L, for the in-process and the queue path,
// and the speed-up over a sequential run (C = 1) of the same analysis.
import { Rlm } from "rlm-queue";
import { compareWithBare, floorRows } from "./bare-floor.js";
import { type BenchContext, type FigureResult, fmt, MOCK_MODELS } from "./support/bench-context.js";
import { documentForChunks, querySubject, type TestDocument } from "./support/documents.js";
import { round } from "./support/stats.js";
import { type ChildTimeline, childTimelines, resumeGap, returnGap } from "./support/timeline.js";
import { playedModel } from "./support/played-model.js";
import { WorkerProcess } from "./support/workers.js";

const L = 200;
const N = 100;
const C = 50;
const CHUNK = 10_000;
/**
 * Analyses at L=0 before the measured ones, on each path: the steady state is what is
 * measured. After a single one, the engine and the model client were still being
 * optimised: the main thread took 11–22 ms to write a wave's 50 requests in each of the
 * next three analyses, and 6–8 ms in most analyses after four warm-ups
 * (`WAVE_WARMUPS=1|4 bench/diagnostics/wave-timing.ts`).
 */
const WARM_UPS = 4;

export interface FanOutRun {
  path: "in-process" | "queue";
  concurrency: number;
  wallMs: number;
  idealMs: number;
  efficiency: number;
  rootCalls: number;
  subCalls: number;
  answerOk: boolean;
  /** Queue runs: per-child timestamps (for figure 2 and for profiling). */
  children?: ChildTimeline[];
  resumeGapMs?: number;
  /** Last answer at the mock → next root call at the mock (see `returnGap`). */
  returnGapMs?: number;
  /** Mean time the mock took per call (L plus its own lateness). */
  mockLatencyMs: number;
  /** Efficiency against the ideal schedule at `mockLatencyMs` instead of L. */
  efficiencyAtMock: number;
}

export async function runFanOut(bench: BenchContext): Promise<FigureResult> {
  const document = documentForChunks(N, CHUNK);
  const reps = bench.quick ? 1 : 3;
  const runs: FanOutRun[] = [];

  // In process: engine here, mock in its own process.
  // Warm-ups (JIT, isolates, HTTP connections), not counted.
  for (let warm = 0; warm < WARM_UPS; warm += 1) await inProcessRun(bench, document, C, 0);
  for (let rep = 0; rep < reps; rep += 1) runs.push(await inProcessRun(bench, document, C, L));
  runs.push(await inProcessRun(bench, document, 1, L));

  // The engine alone: the mock's script played in this process, no HTTP (see the row).
  const played = playedModel({ strategy: "map-reduce", chunkChars: CHUNK });
  for (let warm = 0; warm < WARM_UPS; warm += 1) await noHttpRun(bench, document, played, 0);
  const engineAlone: NoHttpRun[] = [];
  for (let rep = 0; rep < reps; rep += 1) {
    engineAlone.push(await noHttpRun(bench, document, played, L));
  }

  // Queue: one worker process (root + LM roles), LM concurrency = C.
  const parallel = await WorkerProcess.start({
    prefix: bench.prefix,
    modelUrl: bench.mock.url,
    llmConcurrency: C,
  });
  try {
    for (let warm = 0; warm < WARM_UPS; warm += 1) await queueRun(bench, document, C, 0);
    for (let rep = 0; rep < reps; rep += 1)
      runs.push(await queueRun(bench, document, C, L, parallel));
  } finally {
    await parallel.stop();
  }
  if (!bench.quick) {
    const sequential = await WorkerProcess.start({
      prefix: bench.prefix,
      modelUrl: bench.mock.url,
      llmConcurrency: 1,
    });
    try {
      runs.push(await queueRun(bench, document, 1, L, sequential));
    } finally {
      await sequential.stop();
    }
  }

  // The floor: the same calls with plain node:http, alternately with in-process runs.
  const floors = [
    await compareWithBare(bench, {
      document,
      n: N,
      concurrency: C,
      latencyMs: L,
      chunkChars: CHUNK,
      reps,
    }),
    await compareWithBare(bench, {
      n: 1000,
      concurrency: 100,
      latencyMs: L,
      chunkChars: CHUNK,
      reps,
    }),
  ];

  const pick = (path: FanOutRun["path"], concurrency: number) =>
    runs.filter((run) => run.path === path && run.concurrency === concurrency);
  const median = (list: FanOutRun[]) => {
    const sorted = [...list].sort((a, b) => a.efficiency - b.efficiency);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const rows: FigureResult["rows"] = [];
  for (const [path, goal] of [
    ["in-process", 0.95],
    ["queue", 0.9],
  ] as const) {
    const par = median(pick(path, C));
    const seq = pick(path, 1)[0];
    if (par) {
      rows.push({
        figure: "1 fan-out",
        metric: `${path} efficiency (N=${par.subCalls}, C=${C}, L=${L}ms; ${par.rootCalls} root calls; wall ${Math.round(par.wallMs)} / ideal ${par.idealMs} ms${reps > 1 ? `, median of ${reps}` : ""})`,
        value: fmt(par.efficiency),
        goal: `≥ ${goal}`,
        pass: par.efficiency >= goal && par.answerOk,
      });
      rows.push({
        figure: "1 fan-out",
        metric: `${path}:   the same against the latency the mock really gave (${fmt(par.mockLatencyMs)} ms per call on average: its lateness is not the system's)`,
        value: fmt(par.efficiencyAtMock),
        goal: "",
      });
    }
    if (par && seq) {
      rows.push({
        figure: "1 fan-out",
        metric: `${path} speed-up over C=1 (${Math.round(seq.wallMs)} ms; C=1 efficiency ${fmt(seq.efficiency)})`,
        value: `${fmt(seq.wallMs / par.wallMs, 1)}×`,
        goal: `ideal ${fmt(seq.idealMs / par.idealMs, 1)}×`,
      });
    }
  }
  const alone = [...engineAlone].sort((a, b) => a.efficiency - b.efficiency)[
    Math.floor(engineAlone.length / 2)
  ];
  if (alone) {
    rows.splice(2, 0, {
      figure: "1 fan-out",
      metric: `in-process:   the engine alone, the mock's script played in this process at L (no HTTP, no mock process; wall ${Math.round(alone.wallMs)} ms${reps > 1 ? `, median of ${reps}` : ""})`,
      value: fmt(alone.efficiency),
      goal: "",
    });
  }
  rows.push(...floorRows(floors, median(pick("queue", C))?.wallMs));
  return {
    rows,
    data: {
      floors,
      engineAlone,
      latencyMs: L,
      chunkChars: CHUNK,
      documentChars: document.text.length,
      runs: runs.map(({ children, ...run }) => ({ ...run, childCount: children?.length })),
    },
  };
}

async function inProcessRun(
  bench: BenchContext,
  document: TestDocument,
  concurrency: number,
  latencyMs: number,
): Promise<FanOutRun> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: CHUNK });
  const rlm = new Rlm({
    baseURL: bench.mock.url,
    apiKey: "bench",
    ...MOCK_MODELS,
    subConcurrency: concurrency,
    maxAttempts: 1,
  });
  const started = performance.now();
  const result = await rlm.completion(querySubject(document), document.text);
  const wallMs = performance.now() - started;
  return summarize(
    bench,
    "in-process",
    concurrency,
    latencyMs,
    wallMs,
    result.answer.trim() === String(document.markerCount),
  );
}

interface NoHttpRun {
  wallMs: number;
  idealMs: number;
  efficiency: number;
  answerOk: boolean;
}

/**
 * The in-process analysis with the model played in this process (`playedModel`): what
 * the engine gives against the ideal schedule when no HTTP exchange and no mock process
 * share the cores with it. Figure 1's goal rows stay those against the mock.
 */
async function noHttpRun(
  bench: BenchContext,
  document: TestDocument,
  model: ReturnType<typeof playedModel>,
  latencyMs: number,
): Promise<NoHttpRun> {
  model.latencyMs = latencyMs;
  model.calls.length = 0;
  const rlm = new Rlm({ modelClient: model, ...MOCK_MODELS, subConcurrency: C });
  const started = performance.now();
  const result = await rlm.completion(querySubject(document), document.text);
  const wallMs = performance.now() - started;
  const subCalls = model.calls.filter((call) => call.kind === "sub").length;
  const idealMs = (model.calls.length - subCalls + Math.ceil(subCalls / C)) * latencyMs;
  const run = {
    wallMs: round(wallMs),
    idealMs,
    efficiency: round(idealMs / wallMs, 3),
    answerOk: result.answer.trim() === String(document.markerCount),
  };
  if (latencyMs > 0) {
    bench.log(
      `  in-process, no HTTP C=${C}: wall ${Math.round(wallMs)} ms, ideal ${idealMs} ms, efficiency ${fmt(run.efficiency)}${run.answerOk ? "" : " WRONG ANSWER"}`,
    );
  }
  return run;
}

export async function queueRun(
  bench: BenchContext,
  document: TestDocument,
  concurrency: number,
  latencyMs: number,
  worker?: WorkerProcess,
  chunkChars = CHUNK,
): Promise<FanOutRun> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars });
  if (worker) await worker.stats(); // drop older client-call traces
  const started = performance.now();
  const { id } = await bench.client.enqueueAnalysis({
    query: querySubject(document),
    context: document.text,
  });
  const result = await bench.client.waitForResult(id, { timeoutMs: 120_000 });
  const wallMs = performance.now() - started;
  const run = await summarize(
    bench,
    "queue",
    concurrency,
    latencyMs,
    wallMs,
    result.answer.trim() === String(document.markerCount),
  );
  const requests = await bench.mock.requests();
  const clientCalls = new Map(
    (worker ? (await worker.stats()).clientCalls : []).map((call) => [call.hash, call.at]),
  );
  const { children } = await childTimelines(
    bench.prefix,
    id,
    requests,
    bench.contexts,
    clientCalls,
  );
  run.children = children;
  const gap = resumeGap(children, requests);
  if (gap !== undefined) run.resumeGapMs = round(gap);
  const back = returnGap(requests);
  if (back !== undefined) run.returnGapMs = round(back);
  return run;
}

async function summarize(
  bench: BenchContext,
  path: FanOutRun["path"],
  concurrency: number,
  latencyMs: number,
  wallMs: number,
  answerOk: boolean,
): Promise<FanOutRun> {
  const requests = await bench.mock.requests();
  const rootCalls = requests.filter((request) => request.kind !== "sub").length;
  const subCalls = requests.filter((request) => request.kind === "sub").length;
  const idealMs = rootCalls * latencyMs + Math.ceil(subCalls / concurrency) * latencyMs;
  // The latency the mock really gave: its timers fire late and its one thread sends a
  // wave's answers one after another, so a call takes a little longer than L.
  const mockLatencyMs =
    requests.reduce((sum, request) => sum + ((request.endedAt ?? 0) - request.startedAt), 0) /
    Math.max(1, requests.length);
  const idealAtMockMs = (rootCalls + Math.ceil(subCalls / concurrency)) * mockLatencyMs;
  const run: FanOutRun = {
    path,
    concurrency,
    wallMs: round(wallMs),
    idealMs,
    efficiency: round(idealMs / wallMs, 3),
    mockLatencyMs: round(mockLatencyMs, 2),
    efficiencyAtMock: round(idealAtMockMs / wallMs, 3),
    rootCalls,
    subCalls,
    answerOk,
  };
  if (latencyMs > 0) {
    bench.log(
      `  ${path} C=${concurrency}: wall ${Math.round(wallMs)} ms, ideal ${idealMs} ms, efficiency ${fmt(run.efficiency)}, calls ${rootCalls}+${subCalls}${answerOk ? "" : " WRONG ANSWER"}`,
    );
  }
  return run;
}
