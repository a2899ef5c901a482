// Figure 8's throughput part: analyses per minute with 1 and 2 worker processes (10
// sub-calls each, at L ms), and the Redis commands per sub-call, counted with MONITOR on
// the bench's key prefix.
import { type BenchContext, type FigureResult, fmt } from "./support/bench-context.js";
import { documentForChunks, querySubject, type TestDocument } from "./support/documents.js";
import { type CommandCount, countCommands } from "./support/redis-commands.js";
import { round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

type Rows = FigureResult["rows"];

const THROUGHPUT_SUB_CALLS = 10;
const THROUGHPUT_CHUNK = 5_000;

/** Analyses per minute with 1 and 2 workers, then the Redis commands per sub-call. */
export async function throughputCase(bench: BenchContext, latencyMs: number) {
  const document = documentForChunks(THROUGHPUT_SUB_CALLS, THROUGHPUT_CHUNK, 9);
  // The goal is read on a batch of 192 (sustained load: ~8 s with 2 workers). A batch of
  // 64, measured too, is 4 rounds of each worker's 16 step slots with 2 workers: its ramp
  // and its tail (the last analyses' 800 ms chain with few others left to overlap) are
  // ~20% of its wall, against ~10% with 1 worker, so it reads 1.73–1.88× where a longer
  // batch reads 1.91–1.96× (bench/diagnostics/throughput-stats.ts prints root calls in
  // flight per 100 ms).
  const analyses = bench.quick ? 24 : 192;
  const shortBatch = bench.quick ? undefined : 64;
  const perMinute: Record<number, number> = {};
  const perMinuteShort: Record<number, number> = {};
  const commands: Record<number, CommandCount & { subCalls: number }> = {};
  for (const count of [1, 2]) {
    const workers = await Promise.all(
      Array.from({ length: count }, () =>
        WorkerProcess.start({ prefix: bench.prefix, modelUrl: bench.mock.url }),
      ),
    );
    try {
      // As in the fan-outs: each process warms up on as many analyses as the lone one.
      await batch(bench, document, 8 * count, 0, "warm");
      if (shortBatch !== undefined) {
        const shortMs = await batch(bench, document, shortBatch, latencyMs, "short");
        perMinuteShort[count] = round((shortBatch / shortMs) * 60_000, 1);
      }
      const wallMs = await batch(bench, document, analyses, latencyMs, "timed");
      perMinute[count] = round((analyses / wallMs) * 60_000, 1);
      // Counted apart: MONITOR slows Redis down.
      const counting = await countCommands(bench.prefix);
      const counted = 16;
      await batch(bench, document, counted, latencyMs, "counted");
      commands[count] = { ...(await counting.stop()), subCalls: counted * THROUGHPUT_SUB_CALLS };
      bench.log(
        `  throughput workers=${count}: ${perMinute[count]}/min (${analyses} analyses)${shortBatch === undefined ? "" : `, ${perMinuteShort[count]}/min (${shortBatch})`}; Redis commands per sub-call ${fmt(commands[count].sent / commands[count].subCalls, 1)} sent, ${fmt((commands[count].sent + commands[count].inScripts) / commands[count].subCalls, 1)} with those run by scripts`,
      );
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  }
  const scaling = (perMinute[2] ?? 0) / (perMinute[1] ?? 1);
  const rows: Rows = [
    {
      figure: "8 scale-out",
      metric: `analyses per minute (${THROUGHPUT_SUB_CALLS} sub-calls each, L=${latencyMs} ms), 1 / 2 worker processes (${analyses} analyses)`,
      value: `${fmt(perMinute[1] ?? 0, 0)} / ${fmt(perMinute[2] ?? 0, 0)}`,
      goal: "",
    },
    {
      figure: "8 scale-out",
      metric: `analyses per minute, 2 / 1 worker processes (${analyses} analyses)`,
      value: `${fmt(scaling)}×`,
      goal: "≥ 1.8×",
      pass: scaling >= 1.8,
    },
  ];
  if (shortBatch !== undefined) {
    rows.push({
      figure: "8 scale-out",
      metric: `the same in a batch of ${shortBatch} (its ramp and tail weigh more with 2): 1 / 2 workers, 2 / 1`,
      value: `${fmt(perMinuteShort[1] ?? 0, 0)} / ${fmt(perMinuteShort[2] ?? 0, 0)}, ${fmt((perMinuteShort[2] ?? 0) / (perMinuteShort[1] ?? 1))}×`,
      goal: "",
    });
  }
  for (const count of [1, 2]) {
    const counted = commands[count];
    if (!counted) continue;
    rows.push({
      figure: "8 scale-out",
      metric: `Redis commands per sub-call, ${count} worker${count > 1 ? "s" : ""} (sent; with those Lua scripts run)`,
      value: `${fmt(counted.sent / counted.subCalls, 1)}; ${fmt((counted.sent + counted.inScripts) / counted.subCalls, 1)}`,
      goal: "",
    });
  }
  return { perMinute, perMinuteShort, commands, analyses, shortBatch, rows };
}

/** Enqueues `count` analyses at once and waits for all; resolves with the wall ms. */
async function batch(
  bench: BenchContext,
  document: TestDocument,
  count: number,
  latencyMs: number,
  label: string,
): Promise<number> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: THROUGHPUT_CHUNK });
  const started = performance.now();
  const ids = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      bench.client.enqueueAnalysis({
        query: `${querySubject(document)} (${label} ${index} ${started})`,
        context: document.text,
      }),
    ),
  );
  const results = await Promise.all(
    ids.map(({ id }) => bench.client.waitForResult(id, { timeoutMs: 300_000 })),
  );
  const wallMs = performance.now() - started;
  for (const result of results) {
    if (result.answer.trim() !== String(document.markerCount)) {
      throw new Error(`wrong answer ${result.answer} (expected ${document.markerCount})`);
    }
  }
  return wallMs;
}
