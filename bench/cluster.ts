// Figure 9: the fan-out of figure 1 through the queue on a Redis Cluster of three masters
// beside one Redis (N = 100, C = 50, L = 200 ms, one worker process each, runs taken
// alternately), and what one analysis left on the cluster and asked of each master:
// the figures the README's sizing is checked against.
import { redisKeys, RlmQueueClient } from "@rlm/queue";
import {
  canStartRedisCluster,
  startRedisCluster,
  type TestRedisCluster,
} from "../test/support/redis-cluster.js";
import { type BenchContext, type FigureResult, fmt } from "./support/bench-context.js";
import { documentForChunks, querySubject, type TestDocument } from "./support/documents.js";
import { round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

const L = 200;
const N = 100;
const C = 50;
const CHUNK = 10_000;
const WARM_UPS = 2;

interface PathRun {
  path: "one Redis" | "cluster";
  wallMs: number;
  idealMs: number;
  efficiency: number;
  subCalls: number;
  answerOk: boolean;
  analysisId: string;
}

/** What one analysis left on the cluster, and the commands each master served for it. */
interface Footprint {
  documentBytes: number;
  documentMemory: number;
  journalFields: number;
  journalMemory: number;
  recordMemory: number;
  events: number;
  eventsMemory: number;
  commandsPerMaster: number[];
  subCalls: number;
}

export async function runCluster(bench: BenchContext): Promise<FigureResult> {
  if (!canStartRedisCluster()) {
    return {
      rows: [
        {
          figure: "9 cluster",
          metric: "skipped: needs redis-server 7+ and redis-cli to start a cluster",
          value: "n/a",
          goal: "",
        },
      ],
      data: { skipped: true },
    };
  }
  const document = documentForChunks(N, CHUNK);
  const reps = bench.quick ? 1 : 3;
  const cluster = await startRedisCluster();
  const clusterClient = new RlmQueueClient({ connection: cluster.shared, prefix: bench.prefix });
  const settings = { prefix: bench.prefix, modelUrl: bench.mock.url, llmConcurrency: C };
  const onOne = await WorkerProcess.start(settings);
  const onCluster = await WorkerProcess.start({ ...settings, clusterNodes: cluster.nodesSetting });
  const runs: PathRun[] = [];
  let footprint: Footprint | undefined;
  try {
    for (let warm = 0; warm < WARM_UPS; warm += 1) {
      await fanOut(bench, bench.client, "one Redis", document, 0);
      await fanOut(bench, clusterClient, "cluster", document, 0);
    }
    for (let rep = 0; rep < reps; rep += 1) {
      runs.push(await fanOut(bench, bench.client, "one Redis", document, L));
      const before = await commandsPerMaster(cluster);
      const run = await fanOut(bench, clusterClient, "cluster", document, L);
      const after = await commandsPerMaster(cluster);
      runs.push(run);
      footprint ??= await footprintOf(cluster, bench.prefix, run, document, before, after);
    }
  } finally {
    await Promise.allSettled([onOne.stop(), onCluster.stop()]);
    await clusterClient.close();
    await cluster.destroy();
  }

  const median = (path: PathRun["path"]) => {
    const sorted = runs.filter((run) => run.path === path).sort((a, b) => a.wallMs - b.wallMs);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const one = median("one Redis");
  const onClusterRun = median("cluster");
  const rows: FigureResult["rows"] = [];
  for (const run of [one, onClusterRun]) {
    if (!run) continue;
    rows.push({
      figure: "9 cluster",
      metric: `queue on ${run.path === "cluster" ? "a 3-master Redis Cluster" : "one Redis"}: fan-out efficiency (N=${run.subCalls}, C=${C}, L=${L}ms; wall ${Math.round(run.wallMs)} / ideal ${run.idealMs} ms${reps > 1 ? `, median of ${reps}, runs alternated` : ""})`,
      value: fmt(run.efficiency),
      goal: "≥ 0.9",
      pass: run.efficiency >= 0.9 && run.answerOk,
    });
  }
  if (one && onClusterRun) {
    rows.push({
      figure: "9 cluster",
      metric: "cluster ÷ one Redis, wall time of the same analysis",
      value: fmt(onClusterRun.wallMs / one.wallMs),
      goal: "≤ 1.1",
      pass: onClusterRun.wallMs / one.wallMs <= 1.1,
    });
  }
  if (footprint) {
    const total = footprint.commandsPerMaster.reduce((sum, count) => sum + count, 0);
    rows.push({
      figure: "9 cluster",
      metric: `one analysis on the cluster: Redis commands per sub-call (${total} in all, per master ${footprint.commandsPerMaster.join(" / ")}; BullMQ's included)`,
      value: fmt(total / Math.max(1, footprint.subCalls), 1),
      goal: "",
    });
    rows.push({
      figure: "9 cluster",
      metric: `one analysis on the cluster: memory left (document ${kib(footprint.documentMemory)} for ${kib(footprint.documentBytes)} of text; journal ${kib(footprint.journalMemory)} in ${footprint.journalFields} records; record ${kib(footprint.recordMemory)}; ${footprint.events} events ${kib(footprint.eventsMemory)}), journal bytes per call`,
      value: `${Math.round(footprint.journalMemory / Math.max(1, footprint.journalFields))} B`,
      goal: "",
    });
  }
  return {
    rows,
    data: { latencyMs: L, n: N, concurrency: C, chunkChars: CHUNK, runs, footprint },
  };
}

async function fanOut(
  bench: BenchContext,
  client: RlmQueueClient,
  path: PathRun["path"],
  document: TestDocument,
  latencyMs: number,
): Promise<PathRun> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: CHUNK });
  const started = performance.now();
  const { id } = await client.enqueueAnalysis({
    query: querySubject(document),
    context: document.text,
  });
  const result = await client.waitForResult(id, { timeoutMs: 120_000 });
  const wallMs = performance.now() - started;
  const requests = await bench.mock.requests();
  const rootCalls = requests.filter((request) => request.kind !== "sub").length;
  const subCalls = requests.length - rootCalls;
  const idealMs = (rootCalls + Math.ceil(subCalls / C)) * latencyMs;
  const run: PathRun = {
    path,
    wallMs: round(wallMs),
    idealMs,
    efficiency: round(idealMs / wallMs, 3),
    subCalls,
    answerOk: result.answer.trim() === String(document.markerCount),
    analysisId: id,
  };
  if (latencyMs > 0) {
    bench.log(
      `  ${path}: wall ${Math.round(wallMs)} ms, ideal ${idealMs} ms, efficiency ${fmt(run.efficiency)}${run.answerOk ? "" : " WRONG ANSWER"}`,
    );
  }
  return run;
}

/** Commands each master has served so far (`INFO stats`), in the order of its nodes. */
async function commandsPerMaster(cluster: TestRedisCluster): Promise<number[]> {
  await cluster.shared.ping();
  const masters = cluster.shared.nodes("master");
  masters.sort((a, b) => (a.options.port ?? 0) - (b.options.port ?? 0));
  return Promise.all(
    masters.map(async (node) => {
      const info = await node.info("stats");
      return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
    }),
  );
}

async function footprintOf(
  cluster: TestRedisCluster,
  prefix: string,
  run: PathRun,
  document: TestDocument,
  before: number[],
  after: number[],
): Promise<Footprint> {
  const redis = cluster.shared;
  const keys = redisKeys(prefix);
  const id = run.analysisId;
  const contextRef = JSON.parse((await redis.hget(keys.analysis(id), "contextRef")) ?? "{}") as {
    sha256: string;
  };
  // SAMPLES 0: every field and entry counted, not an estimate from five.
  const usage = async (key: string) =>
    Number((await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0);
  return {
    documentBytes: Buffer.byteLength(document.text),
    documentMemory: await usage(keys.context(contextRef.sha256)),
    journalFields: await redis.hlen(keys.journal(id)),
    journalMemory: await usage(keys.journal(id)),
    recordMemory: await usage(keys.analysis(id)),
    events: await redis.xlen(keys.events(id)),
    eventsMemory: await usage(keys.events(id)),
    // The commands of the run itself, the reads of INFO aside (one per master).
    commandsPerMaster: after.map((count, index) => count - (before[index] ?? 0) - 1),
    subCalls: run.subCalls,
  };
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}
