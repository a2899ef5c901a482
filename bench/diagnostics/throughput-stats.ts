// Diagnostic (not part of npm run bench): one throughput batch (figure 8's analyses of
// 10 sub-calls, L = 200 ms) with W worker processes; prints analyses per minute and each
// worker's run statistics.
// node --no-node-snapshot --import tsx bench/diagnostics/throughput-stats.ts [workers] [analyses]
import { readFileSync } from "node:fs";
import { RlmQueueClient } from "@rlm/queue";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { benchPrefix, deleteKeys, REDIS } from "../support/redis-keys.js";
import { WorkerProcess } from "../support/workers.js";

const [count = 1, analyses = 64] = process.argv.slice(2).map(Number);
const document = documentForChunks(10, 5_000, 9);
const prefix = benchPrefix();
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
const workers = await Promise.all(
  Array.from({ length: count }, () => WorkerProcess.start({ prefix, modelUrl: mock.url })),
);
try {
  for (const [latencyMs, n] of [
    [0, 8],
    [200, analyses],
  ] as const) {
    await mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: 5_000 });
    const cpuBefore = workers.map((worker) => cpuMs(worker.pid));
    const mockBefore = cpuMs(mock.pid ?? 0);
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: n }, (_, index) =>
        client.enqueueAnalysis({
          query: `${querySubject(document)} ${latencyMs} ${index}`,
          context: document.text,
        }),
      ),
    );
    await Promise.all(ids.map(({ id }) => client.waitForResult(id, { timeoutMs: 300_000 })));
    const wall = performance.now() - started;
    if (latencyMs > 0) {
      console.log(
        `${n} analyses in ${Math.round(wall)} ms = ${((n / wall) * 60_000).toFixed(0)}/min`,
      );
      // Mean model calls in flight, root and sub, over the batch.
      const requests = await mock.requests();
      const busy = (kind: (k: string) => boolean) =>
        requests
          .filter((r) => kind(r.kind))
          .reduce((sum, r) => sum + ((r.endedAt ?? 0) - r.startedAt), 0) / wall;
      console.log(
        `CPU ms: workers ${workers.map((worker, i) => cpuMs(worker.pid) - (cpuBefore[i] ?? 0)).join(", ")}; mock ${cpuMs(mock.pid ?? 0) - mockBefore}`,
      );
      console.log(
        `in flight on average: root ${busy((k) => k !== "sub").toFixed(1)}, sub ${busy((k) => k === "sub").toFixed(1)}`,
      );
      // Root calls in flight per 100 ms of the batch: the ramp up, the plateau, the tail.
      const origin = performance.timeOrigin + started;
      const roots = requests.filter((r) => r.kind !== "sub");
      const profile: number[] = [];
      for (let at = 0; at < wall; at += 100) {
        const [from, to] = [origin + at, origin + Math.min(at + 100, wall)];
        const busyMs = roots.reduce(
          (sum, r) => sum + Math.max(0, Math.min(r.endedAt ?? 0, to) - Math.max(r.startedAt, from)),
          0,
        );
        profile.push(Math.round(busyMs / (to - from)));
      }
      console.log(`root calls in flight per 100 ms: ${profile.join(" ")}`);
    }
  }
  for (const worker of workers) console.log(JSON.stringify((await worker.stats()).live));
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  await client.close();
  await mock.stop();
  await deleteKeys(prefix);
  process.exit(0);
}

/** user + system CPU of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
