// Figure 8: scale-out. One analysis across 1, 2 and 4 worker processes that share the same
// total call slots C, against a bare node:http client sending the same requests in the
// same run (N = 100, C = 50 and N = 1000, C = 100, L = 200 ms), and beside them their floor
// over 1, 2 and 4 processes: the same requests by plain node:http, handed over through
// Redis as cheaply as it allows (support/handover-floor.ts), and the analysis in process:
// together they bound what W workers can reach on this machine. Then analyses per minute
// with 1 and 2 worker processes and the Redis commands per sub-call
// (scale-out-throughput.ts). The paths themselves: scale-out-paths.ts.
import { type BenchContext, type FigureResult, fmt } from "./support/bench-context.js";
import { RlmQueueClient } from "@rlm/queue";
import { recordCalls } from "./bare-floor.js";
import { HandoverFloor } from "./support/handover-floor.js";
import { throughputCase } from "./scale-out-throughput.js";
import {
  bare,
  CHUNK,
  inProcess,
  L,
  mapReduceAt,
  queued,
  sizedDocument,
  splitSlots,
} from "./scale-out-paths.js";
import { REDIS } from "./support/redis-keys.js";
import { median, round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

const WORKER_COUNTS = [1, 2, 4] as const;
const GOALS = [
  { subCalls: 100, slots: 50, goal: 1.05 },
  { subCalls: 1000, slots: 100, goal: 1.1 },
] as const;

type Rows = FigureResult["rows"];

export async function runScaleOut(bench: BenchContext): Promise<FigureResult> {
  const rows: Rows = [];
  const data: Record<string, unknown> = {};
  // BENCH_SCALE=100,1000,throughput runs some of its parts only (while working on one).
  const parts = process.env.BENCH_SCALE?.split(",");
  for (const case_ of GOALS) {
    if (parts && !parts.includes(String(case_.subCalls))) continue;
    const measured = await fanOutCase(bench, case_.subCalls, case_.slots);
    data[`fanOut${case_.subCalls}`] = measured;
    rows.push(...fanOutRows(measured, case_.goal));
  }
  if (!parts || parts.includes("throughput")) {
    const throughput = await throughputCase(bench, L);
    data.throughput = throughput;
    rows.push(...throughput.rows);
  }
  return { rows, data };
}

interface FanOutMeasure {
  subCalls: number;
  slots: number;
  bareMs: number[];
  /** The analysis in process (no queue, no Redis): wall ms. */
  inProcessMs: number[];
  /** Wall ms per worker count. */
  queueMs: Record<number, number[]>;
  /** The fan-out alone by plain node:http over as many processes: wall ms per count. */
  floorMs: Record<number, number[]>;
}

async function fanOutCase(
  bench: BenchContext,
  subCalls: number,
  slots: number,
): Promise<FanOutMeasure> {
  const document = sizedDocument(subCalls);
  const recorded = await recordCalls(bench, document, { concurrency: slots, chunkChars: CHUNK });
  const reps = bench.quick ? 1 : 5;
  const warmUps = bench.quick ? 1 : 2;
  const measure: FanOutMeasure = {
    subCalls,
    slots,
    bareMs: [],
    inProcessMs: [],
    queueMs: {},
    floorMs: {},
  };
  // The floor sends the fan-out's sub-calls alone: the analysis's group of N calls.
  const fanOutGroup = recorded.find((group) => group.length === subCalls);
  if (!fanOutGroup) {
    throw new Error(
      `figure 8: the recorded analysis has no fan-out of ${subCalls} calls (groups ${recorded.map((group) => group.length).join(", ")})`,
    );
  }
  const fanOutBodies = fanOutGroup.map(({ model, messages }) =>
    JSON.stringify({ model, messages }),
  );
  for (let warm = 0; warm < warmUps; warm += 1) {
    await bare(bench, recorded, slots, 0);
    await inProcess(bench, document, slots, 0);
  }
  // Every worker count at once, each on its own key prefix (its own queues): the timed
  // runs alternate between them and the bare client, so that all see the same minutes of
  // a machine whose speed drifts (measured here: runs of one count, taken a minute apart,
  // differed by 100–150 ms at N=1000). Idle, a worker costs ~3 ms of CPU a second.
  const setups = await Promise.all(
    WORKER_COUNTS.map(async (count) => {
      const prefix = `${bench.prefix}:w${count}`;
      const workers = await Promise.all(
        splitSlots(slots, count).map((llmConcurrency) =>
          WorkerProcess.start({ prefix, modelUrl: bench.mock.url, llmConcurrency }),
        ),
      );
      return { count, workers, client: new RlmQueueClient({ connection: { ...REDIS }, prefix }) };
    }),
  );
  const floors = await Promise.all(
    WORKER_COUNTS.map(async (count) => ({
      count,
      floor: await HandoverFloor.start({
        mockUrl: bench.mock.url,
        prefix: bench.prefix,
        slots: splitSlots(slots, count),
      }),
    })),
  );
  try {
    await mapReduceAt(bench, 0);
    for (const { count, floor } of floors) {
      for (let warm = 0; warm < warmUps; warm += 1) await floor.fanOut(fanOutBodies);
      measure.floorMs[count] = [];
    }
    for (const setup of setups) {
      // Each process warms up on as many calls as the lone worker does: V8 compiles a
      // process's hot code after it has run enough, and 4 processes sharing 4 fan-outs
      // were still compiling in the timed runs (perf: TurboFan 9.6% of the machine's
      // samples with 4 workers, 1.9% with 1; worker CPU per fan-out falling from 3.2 to
      // 1.6 s over 15 fan-outs). Deployed workers are long-lived: the timed runs measure
      // them warm, as the bare client in this process is.
      // (`--quick`: one fan-out per process, a smoke run.)
      const setupWarmUps = bench.quick ? setup.count : (warmUps + 2) * setup.count;
      for (let warm = 0; warm < setupWarmUps; warm += 1) {
        await queued(bench, setup.client, document, 0);
      }
      measure.queueMs[setup.count] = [];
    }
    for (let rep = 0; rep < reps; rep += 1) {
      // Each timed run right after an untimed one at latency 0 of the same setup: idle
      // for the others' runs, a process's heap is shrunk by V8's memory reducer, and pages
      // touched again cost ~15 µs each on this VM; deployed workers busy with a queue's
      // work are measured, not waking ones.
      if (!bench.quick) await bare(bench, recorded, slots, 0);
      measure.bareMs.push(await bare(bench, recorded, slots, L));
      if (!bench.quick) await inProcess(bench, document, slots, 0);
      measure.inProcessMs.push(await inProcess(bench, document, slots, L));
      // A different order each round: no count always runs right after the bare client.
      for (let index = 0; index < setups.length; index += 1) {
        const setup = setups[(index + rep) % setups.length]!;
        if (!bench.quick) await queued(bench, setup.client, document, 0);
        measure.queueMs[setup.count]!.push(await queued(bench, setup.client, document, L));
      }
      for (let index = 0; index < floors.length; index += 1) {
        const { count, floor } = floors[(index + rep) % floors.length]!;
        if (!bench.quick) {
          await mapReduceAt(bench, 0);
          await floor.fanOut(fanOutBodies);
        }
        await mapReduceAt(bench, L);
        measure.floorMs[count]!.push(round(await floor.fanOut(fanOutBodies)));
      }
    }
    for (const { count } of setups) {
      bench.log(
        `  N=${subCalls} C=${slots} workers=${count}: queue ${measure.queueMs[count]!.map(Math.round).join(", ")} ms`,
      );
    }
    bench.log(`  N=${subCalls} C=${slots} bare: ${measure.bareMs.map(Math.round).join(", ")} ms`);
    bench.log(
      `  N=${subCalls} C=${slots} in process: ${measure.inProcessMs.map(Math.round).join(", ")} ms`,
    );
    for (const { count } of floors) {
      bench.log(
        `  N=${subCalls} C=${slots} floor, ${count} process${count > 1 ? "es" : ""} (fan-out only): ${measure.floorMs[count]!.map(Math.round).join(", ")} ms`,
      );
    }
  } finally {
    await Promise.all([
      ...setups.flatMap(({ workers, client }) => [
        client.close(),
        ...workers.map((worker) => worker.stop()),
      ]),
      ...floors.map(({ floor }) => floor.stop()),
    ]);
  }
  return measure;
}

function fanOutRows(measure: FanOutMeasure, goal: number): Rows {
  const bareMs = median(measure.bareMs);
  const oneWorker = median(measure.queueMs[1] ?? []);
  const rows: Rows = [
    {
      figure: "8 scale-out",
      metric: `bare node:http client, N=${measure.subCalls}, C=${measure.slots}, L=${L} ms (wall ms, median of ${measure.bareMs.length})`,
      value: fmt(bareMs, 0),
      goal: "",
    },
  ];
  for (const count of WORKER_COUNTS) {
    const wall = median(measure.queueMs[count] ?? []);
    const ratio = wall / bareMs;
    const slots = splitSlots(measure.slots, count).join("+");
    rows.push({
      figure: "8 scale-out",
      metric: `queue, ${count} worker${count > 1 ? "s" : ""} (${slots} slots) ÷ bare client, N=${measure.subCalls} (wall ${Math.round(wall)} ms)`,
      value: `${fmt(ratio)}×`,
      goal: count === 1 ? "" : `≤ ${goal}×, ≤ 1 worker`,
      ...(count === 1 ? {} : { pass: ratio <= goal && wall <= oneWorker * 1.01 }),
    });
  }
  const oneProcess = median(measure.floorMs[1] ?? []);
  const inProcessMs = median(measure.inProcessMs);
  rows.push({
    figure: "8 scale-out",
    metric: `in process (no queue, no Redis) ÷ bare client, N=${measure.subCalls} (wall ${Math.round(inProcessMs)} ms)`,
    value: `${fmt(inProcessMs / bareMs, 3)}×`,
    goal: "",
  });
  for (const count of WORKER_COUNTS) {
    if (count === 1) continue;
    const floor = median(measure.floorMs[count] ?? []);
    const queue = median(measure.queueMs[count] ?? []);
    rows.push({
      figure: "8 scale-out",
      metric: `${count} processes − 1, N=${measure.subCalls}: floor (the fan-out's requests by plain node:http, handed over through a Redis list; ${Math.round(oneProcess)} / ${Math.round(floor)} ms) / queue (the whole analysis)`,
      value: `${signedMs(floor - oneProcess)} (${fmt(floor / oneProcess, 3)}×) / ${signedMs(queue - oneWorker)} (${fmt(queue / oneWorker, 3)}×)`,
      goal: "",
    });
    // No split of one analysis over processes beats the analysis in one process plus what
    // the split alone costs: the goal is out of reach on this machine when this is over it.
    rows.push({
      figure: "8 scale-out",
      metric: `  lower bound for ${count} workers on this machine: in process + what ${count} processes add to the floor, ÷ bare client`,
      value: `${fmt((inProcessMs + floor - oneProcess) / bareMs, 3)}×`,
      goal: "",
    });
  }
  return rows;
}

function signedMs(ms: number): string {
  return `${ms < 0 ? "−" : "+"}${Math.abs(Math.round(ms))} ms`;
}
