// Figure 6: analyses completed per minute with 1 and 2 worker processes at L = 0 and
// L = 200 ms. Each analysis: the mock's map-reduce over a document cut into 10 chunks
// (3 root turns — peek, fan-out, FINAL_VAR — and 10 sub-calls). A batch is enqueued at
// once and timed from the first enqueue to the last result.
import { type BenchContext, type FigureResult, fmt } from "./support/bench-context.js";
import { documentForChunks, querySubject } from "./support/documents.js";
import { round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

const SUB_CALLS = 10;
const CHUNK = 5_000;

export async function runThroughput(bench: BenchContext): Promise<FigureResult> {
  const document = documentForChunks(SUB_CALLS, CHUNK, 9);
  const measured: Array<{
    latencyMs: number;
    workers: number;
    analyses: number;
    wallMs: number;
    perMinute: number;
    allCorrect: boolean;
  }> = [];
  for (const latencyMs of [0, 200]) {
    for (const count of [1, 2]) {
      const analyses = bench.quick ? (latencyMs === 0 ? 20 : 24) : latencyMs === 0 ? 60 : 64;
      const workers = await Promise.all(
        Array.from({ length: count }, () =>
          WorkerProcess.start({ prefix: bench.prefix, modelUrl: bench.mock.url }),
        ),
      );
      try {
        await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: CHUNK });
        const started = performance.now();
        // Distinct queries: distinct analyses (and no shared journal) over one stored context.
        const ids = await Promise.all(
          Array.from({ length: analyses }, (_, index) =>
            bench.client.enqueueAnalysis({
              query: `${querySubject(document)} (run ${index})`,
              context: document.text,
            }),
          ),
        );
        const results = await Promise.all(
          ids.map(({ id }) => bench.client.waitForResult(id, { timeoutMs: 300_000 })),
        );
        const wallMs = performance.now() - started;
        const allCorrect = results.every(
          (result) => result.answer.trim() === String(document.markerCount),
        );
        const entry = {
          latencyMs,
          workers: count,
          analyses,
          wallMs: round(wallMs),
          perMinute: round((analyses / wallMs) * 60_000, 1),
          allCorrect,
        };
        measured.push(entry);
        bench.log(
          `  L=${latencyMs} workers=${count}: ${analyses} analyses in ${Math.round(wallMs)} ms = ${entry.perMinute}/min${allCorrect ? "" : " (WRONG ANSWERS)"}`,
        );
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
      }
    }
  }
  const rows: FigureResult["rows"] = [];
  for (const latencyMs of [0, 200]) {
    const one = measured.find((entry) => entry.latencyMs === latencyMs && entry.workers === 1);
    const two = measured.find((entry) => entry.latencyMs === latencyMs && entry.workers === 2);
    if (!one || !two) continue;
    rows.push(
      {
        figure: "6 throughput",
        metric: `L=${latencyMs} ms, 1 worker process (${one.analyses} analyses)`,
        value: `${fmt(one.perMinute, 0)}/min`,
        goal: "",
      },
      {
        figure: "6 throughput",
        metric: `L=${latencyMs} ms, 2 worker processes (${two.analyses} analyses)`,
        value: `${fmt(two.perMinute, 0)}/min`,
        goal: "",
      },
      {
        figure: "6 throughput",
        metric: `L=${latencyMs} ms, scaling 2 / 1 processes`,
        value: `${fmt(two.perMinute / one.perMinute)}×`,
        goal: "",
      },
    );
  }
  return {
    rows,
    data: {
      subCalls: SUB_CALLS,
      chunkChars: CHUNK,
      rootConcurrency: 8,
      llmConcurrency: 32,
      measured,
    },
  };
}
