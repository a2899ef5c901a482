// Diagnostic: CPU profile of a worker process during repeated queue fan-outs (not part of
// npm run bench). node --no-node-snapshot --import tsx bench/diagnostics/fan-out-profile.ts [N] [runs]
// Writes the worker's --cpu-prof profile to /tmp/rlm-prof and prints its top functions.
// RETURN_WINDOWS=FILE: also writes each fan-out's way back (last answer at the mock → next
// root call at the mock) as [start, end] in the profiler's clock, for
// `bench/support/profile-top.ts PROFILE N FILE`: what the worker did in figure 2's "back".
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { RlmQueueClient } from "@rlm/queue";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { deleteKeys, REDIS } from "../support/redis-keys.js";
import { returnGap } from "../support/timeline.js";
import { WorkerProcess } from "../support/workers.js";

const n = Number(process.argv[2] ?? 20);
const runs = Number(process.argv[3] ?? 30);
const dir = "/tmp/rlm-prof";
rmSync(dir, { recursive: true, force: true });
const prefix = `rlmdiag-${process.pid}`;
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
const worker = await WorkerProcess.start({
  prefix,
  modelUrl: mock.url,
  llmConcurrency: 50,
  execArgv: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
});
const document = documentForChunks(n, 10_000, 3);
await mock.reset({ latencyMs: 50, strategy: "map-reduce", chunkChars: 10_000 });
// Epoch ms → the profiler's clock (process.hrtime in µs; one clock for every process).
const hrtimeOffsetUs =
  process.hrtime.bigint() / 1000n -
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
const windows: Array<[string, string]> = [];
const started = performance.now();
for (let index = 0; index < runs; index += 1) {
  await mock.reset({ latencyMs: 50, strategy: "map-reduce", chunkChars: 10_000 });
  const { id } = await client.enqueueAnalysis({
    query: querySubject(document),
    context: document.text,
  });
  await client.waitForResult(id, { timeoutMs: 60_000 });
  const requests = await mock.requests();
  const gap = returnGap(requests);
  const lastAnswer = Math.max(
    ...requests.filter((r) => r.kind === "sub").map((r) => r.endedAt ?? 0),
  );
  if (gap !== undefined) {
    const toClock = (epochMs: number) =>
      String(BigInt(Math.round(epochMs * 1000)) + hrtimeOffsetUs);
    windows.push([toClock(lastAnswer), toClock(lastAnswer + gap)]);
  }
}
if (process.env.RETURN_WINDOWS) writeFileSync(process.env.RETURN_WINDOWS, JSON.stringify(windows));
console.log(`${runs} analyses of ${n} sub-calls in ${Math.round(performance.now() - started)} ms`);
await worker.stop();
await mock.stop?.();
await client.close?.();
await deleteKeys(prefix);
console.log(
  readdirSync(dir)
    .map((file) => `${dir}/${file}`)
    .join("\n"),
);
process.exit(0);
