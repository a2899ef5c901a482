// `npm run bench [-- --quick] [-- --only 1,2]`: measures the system end to end against
// the mock LLM (in its own process), prints a table and writes bench-results/<ts>.json.
// Every figure is a ratio or a distribution taken within this one run.
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, totalmem } from "node:os";
import { ContextStore, RlmQueueClient } from "@rlm/queue";
import { Redis } from "ioredis";
import { runCluster } from "./cluster.js";
import { runFanOut } from "./fan-out.js";
import { runLargeContext } from "./large-context.js";
import { runOverhead } from "./overhead.js";
import { runPromptSize } from "./prompt-size.js";
import { runRecovery } from "./recovery.js";
import { runResume } from "./resume.js";
import { runScaleOut } from "./scale-out.js";
import type { BenchContext, FigureResult, FigureRow } from "./support/bench-context.js";
import { MockProcess } from "./support/mock-client.js";
import { benchPrefix, deleteKeys, REDIS } from "./support/redis-keys.js";
import { printTable } from "./support/table.js";
import { runThroughput } from "./throughput.js";

const FIGURES: Array<[string, string, (bench: BenchContext) => Promise<FigureResult>]> = [
  ["1", "fan-out efficiency", runFanOut],
  ["2", "orchestration overhead", runOverhead],
  ["3", "root prompt size", runPromptSize],
  ["4", "large context", runLargeContext],
  ["5", "resume cost", runResume],
  ["6", "throughput", runThroughput],
  ["7", "recovery", runRecovery],
  ["8", "scale-out", runScaleOut],
  ["9", "cluster", runCluster],
];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? "").split(",")) : undefined;

const startedAt = new Date();
const prefix = benchPrefix();
const redis = new Redis(REDIS);
const log = (line: string) => process.stderr.write(`${line}\n`);
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
const bench: BenchContext = {
  quick,
  prefix,
  mock,
  client,
  contexts: new ContextStore({ redis, prefix }),
  redis,
  log,
};

const machine = await describeMachine(redis);
log(
  `bench ${quick ? "--quick" : "(full)"}: prefix ${prefix}; ${machine.cpuModel} × ${machine.cores}, ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis}`,
);
const rows: FigureRow[] = [];
const results: Record<string, unknown> = {};
const timings: Record<string, number> = {};
let failed = false;
try {
  for (const [id, name, run] of FIGURES) {
    if (only && !only.has(id)) continue;
    log(`figure ${id}: ${name}`);
    const figureStart = performance.now();
    try {
      const result = await run(bench);
      rows.push(...result.rows);
      results[id] = result.data;
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`  figure ${id} failed: ${message}`);
      rows.push({
        figure: `${id} ${name}`,
        metric: "error",
        value: message.split("\n")[0] ?? "",
        goal: "",
        pass: false,
      });
      results[id] = { error: message };
    }
    timings[id] = Math.round(performance.now() - figureStart);
    log(`  (${(timings[id] / 1000).toFixed(1)} s)`);
  }
} finally {
  await client.close();
  await mock.stop();
  const deleted = await deleteKeys(prefix);
  log(`deleted ${deleted} keys under ${prefix}:*`);
  redis.disconnect();
}

printTable(rows);
const totalMs = Date.now() - startedAt.getTime();
await mkdir("bench-results", { recursive: true });
const file = `bench-results/${startedAt.toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`;
await writeFile(
  file,
  `${JSON.stringify({ startedAt: startedAt.toISOString(), quick, totalMs, machine, timings, rows, results }, null, 2)}\n`,
);
log(`\n${rows.length} figures in ${(totalMs / 1000).toFixed(1)} s; JSON: ${file}`);
process.exit(failed ? 1 : 0);

async function describeMachine(client: Redis) {
  const info = await client.info("server");
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.versions.node,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
    platform: `${process.platform} ${process.arch}`,
  };
}
