// Diagnostic (not part of npm run bench): where one fan-out's time goes with W worker
// processes sharing C call slots. Prints, per analysis, the mock's view: root calls,
// each wave's first and last sub-call start, and the gap from the last sub-call's end to
// the next root call.
// node --no-node-snapshot --import tsx bench/diagnostics/scale-timeline.ts [workers] [N] [C] [runs]
// SCALE_PROFILE=DIR: each worker writes a --cpu-prof profile there, and DIR/windows.json
// holds each fan-out's first 150 ms in the profiler's clock (bench/support/profile-top.ts
// PROFILE N DIR/windows.json: what the workers did while the first wave was being sent;
// with SCALE_WINDOW=lead, from root 2's answer to the first sub-call at the mock, with
// =start from the enqueue to root 1 at the mock, with =tail the way back (the last
// sub-call's answer → the next root call) and the last root call's answer → the result;
// DIR/fan-outs.json: the whole of each timed fan-out).
// SCALE_DUMP=FILE: the mock's requests of the last analysis (startedAt per sub-call).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { ContextStore, createLlmQueue, createRootQueue, RlmQueueClient } from "@rlm/queue";
import { Redis } from "ioredis";
import { makeDocument } from "../../test/support/documents.js";
import { chunkCount, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { benchPrefix, deleteKeys, REDIS } from "../support/redis-keys.js";
import { WorkerProcess } from "../support/workers.js";

const [workers = 2, subCalls = 100, slots = 50, runs = 3] = process.argv.slice(2).map(Number);
const CHUNK = 10_000;
let document = makeDocument({ chars: subCalls * CHUNK, markerCount: subCalls, seed: 11 });
for (let fill = 0.999; fill > 0.9; fill -= 0.001) {
  document = makeDocument({
    chars: Math.floor(subCalls * CHUNK * fill),
    markerCount: subCalls,
    seed: 11,
  });
  if (chunkCount(document.text, CHUNK) === subCalls) break;
}
const prefix = benchPrefix();
const profileDir = process.env.SCALE_PROFILE;
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
void new ContextStore({ redis: new Redis(REDIS), prefix });
const per = Array.from(
  { length: workers },
  (_, i) => Math.floor(slots / workers) + (i < slots % workers ? 1 : 0),
);
const llmQueue = createLlmQueue({ connection: { ...REDIS }, prefix });
const rootQueue = createRootQueue({ connection: { ...REDIS }, prefix });
const procs = await Promise.all(
  per.map((llm) =>
    WorkerProcess.start({
      prefix,
      modelUrl: mock.url,
      llmConcurrency: llm,
      execArgv: [
        ...(profileDir
          ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=100"]
          : []),
        ...(process.env.SCALE_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      ],
    }),
  ),
);
// Epoch ms → the profiler's clock (process.hrtime in µs; one clock for every process).
const hrtimeOffsetUs =
  process.hrtime.bigint() / 1000n -
  BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
const toClock = (epochMs: number) => String(BigInt(Math.round(epochMs * 1000)) + hrtimeOffsetUs);
const windows: Array<[string, string]> = [];
const fanOuts: Array<[string, string]> = [];
// CPU ms used so far by a process (Linux /proc: utime + stime, in clock ticks of 10 ms).
const cpuMs = (pid: number | undefined) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
};
// Time a process's threads spent runnable but waiting for a core (Linux schedstat, ns),
// in ms: what 2 cores shared by every process cost it.
const waitMs = (pid: number | undefined) => {
  try {
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ");
      total += Number(fields[1]) / 1e6;
    }
    return total;
  } catch {
    return 0;
  }
};
const redisInfo = new Redis(REDIS);
const redisPid = Number(/process_id:(\d+)/.exec(await redisInfo.info("server"))?.[1] ?? 0);
const redisCpuMs = async () => {
  const info = await redisInfo.info("cpu");
  const read = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (read("used_cpu_user") + read("used_cpu_sys")) * 1000;
};
const cpuNow = async () => [...procs.map((p) => cpuMs(p.pid)), cpuMs(mock.pid), await redisCpuMs()];
const waitNow = () => [...procs.map((p) => waitMs(p.pid)), waitMs(mock.pid), waitMs(redisPid)];
try {
  // Warm-ups (latency 0): 3 per worker process, so each has run as much as a lone one.
  const warmUps = 3 * workers;
  for (let run = 0; run < runs + warmUps; run += 1) {
    const latency = run < warmUps ? 0 : 200;
    await mock.reset({ latencyMs: latency, strategy: "map-reduce", chunkChars: CHUNK });
    const cpuBefore = await cpuNow();
    const waitBefore = waitNow();
    const started = performance.timeOrigin + performance.now();
    const { id } = await client.enqueueAnalysis({
      query: `${querySubject(document)} ${run}`,
      context: document.text,
    });
    await client.waitForResult(id, { timeoutMs: 60_000 });
    const ended = performance.timeOrigin + performance.now();
    if (latency === 0) continue;
    const cpuUsed = (await cpuNow()).map((after, i) => after - cpuBefore[i]!);
    const waited = waitNow().map((after, i) => Math.round(after - waitBefore[i]!));
    const workersCpu = cpuUsed.slice(0, procs.length);
    const requests = await mock.requests();
    if (process.env.SCALE_DUMP) writeFileSync(process.env.SCALE_DUMP, JSON.stringify(requests));
    const rel = (t: number) => (t - started).toFixed(1);
    const roots = requests.filter((r) => r.kind !== "sub");
    const subs = requests.filter((r) => r.kind === "sub").sort((a, b) => a.startedAt - b.startedAt);
    const line: string[] = [`wall ${(ended - started).toFixed(0)}`];
    line.push(`roots ${roots.map((r) => `${rel(r.startedAt)}→${rel(r.endedAt ?? 0)}`).join(" ")}`);
    const waveSize = slots;
    for (let w = 0; w * waveSize < subs.length; w += 1) {
      const wave = subs.slice(w * waveSize, (w + 1) * waveSize);
      line.push(`wave${w + 1} ${rel(wave[0]!.startedAt)}..${rel(wave.at(-1)!.startedAt)}`);
    }
    const lastSubEnd = Math.max(...subs.map((r) => r.endedAt ?? 0));
    const nextRoot = roots.find((r) => r.startedAt > lastSubEnd);
    if (nextRoot) line.push(`back ${(nextRoot.startedAt - lastSubEnd).toFixed(1)}`);
    line.push(`result ${(ended - (roots.at(-1)?.endedAt ?? 0)).toFixed(1)}`);
    console.log(line.join(" | "));
    console.log(
      `  cpu ms: workers ${workersCpu.join("+")} = ${workersCpu.reduce((a, b) => a + b, 0)}, mock ${cpuUsed.at(-2)}, redis ${cpuUsed.at(-1)!.toFixed(0)}`,
    );
    console.log(
      `  waiting for a core, ms: workers ${waited.slice(0, -2).join("+")}, mock ${waited.at(-2)}, redis ${waited.at(-1)}`,
    );
    const jobs = (await llmQueue.getJobs(["completed"], 0, 2000)).filter(
      (job) => job.data.analysisId === id,
    );
    const rootEnd = roots[1]?.endedAt ?? 0;
    // SCALE_WINDOW=lead: root 2's answer → the first sub-call at the mock instead; =start:
    // the analysis enqueued → root 1 at the mock.
    const firstSub = Math.min(...subs.map((r) => r.startedAt));
    if (process.env.SCALE_WINDOW === "start") {
      windows.push([toClock(started), toClock(roots[0]?.startedAt ?? started)]);
    } else if (process.env.SCALE_WINDOW === "tail" && nextRoot) {
      windows.push([toClock(lastSubEnd), toClock(nextRoot.startedAt)]);
      windows.push([toClock(roots.at(-1)?.endedAt ?? ended), toClock(ended)]);
    } else {
      windows.push([
        toClock(rootEnd),
        toClock(process.env.SCALE_WINDOW === "lead" ? firstSub : rootEnd + 150),
      ]);
    }
    fanOuts.push([toClock(started), toClock(ended)]);
    const f = (xs: number[]) => {
      const s2 = [...xs].sort((a, b) => a - b);
      return `${s2[0]?.toFixed(1)}/${s2[Math.floor(s2.length / 2)]?.toFixed(1)}/${s2.at(-1)?.toFixed(1)}`;
    };
    const byProc = new Map<string, number>();
    for (const job of jobs)
      byProc.set(job.processedBy ?? "", (byProc.get(job.processedBy ?? "") ?? 0) + 1);
    const lastFinished = Math.max(0, ...jobs.map((job) => job.finishedOn ?? 0));
    const rootJob = await rootQueue.getJob(id);
    const rootBy = rootJob?.processedBy;
    // The root job's own marks (ms, BullMQ's clock): added, first taken, finished.
    if (rootJob) {
      console.log(
        `  root job: added ${(rootJob.timestamp - started).toFixed(0)}, taken ${((rootJob.processedOn ?? 0) - started).toFixed(0)}, finished ${((rootJob.finishedOn ?? 0) - started).toFixed(0)} (wall ${(ended - started).toFixed(0)})`,
      );
    }
    const lastByProc = new Map<string, number>();
    for (const job of jobs) {
      const by = job.processedBy ?? "";
      lastByProc.set(by, Math.max(lastByProc.get(by) ?? 0, job.finishedOn ?? 0));
    }
    if (nextRoot && jobs.length > 0) {
      console.log(
        `  last job finished ${(lastFinished - lastSubEnd).toFixed(1)} ms after the last sub-call ended, ${(nextRoot.startedAt - lastFinished).toFixed(1)} ms before the next root call; per process ${[...lastByProc].map(([by, t]) => `${(t - lastSubEnd).toFixed(0)}${by === rootBy ? " (root's)" : ""}`).join(", ")}`,
      );
    }
    // The first wave's jobs (those the other workers' slots take at once): when the last
    // of them was issued, added and taken, from the end of the root call that issued them.
    const firstTaken = [...jobs]
      .sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0))
      .slice(0, Math.floor((slots * (workers - 1)) / workers));
    if (firstTaken.length > 0) {
      const last = (values: number[]) => Math.max(...values).toFixed(1);
      console.log(
        `  first ${firstTaken.length} jobs taken: last issued +${last(firstTaken.map((j) => j.data.calls[0]!.issuedAt - rootEnd))}, last added +${last(firstTaken.map((j) => j.timestamp - rootEnd))}, last taken +${last(firstTaken.map((j) => (j.processedOn ?? 0) - rootEnd))} ms`,
      );
    }
    // A lone worker makes every call in its own process: no LM jobs to report.
    if (jobs.length > 0)
      console.log(
        `  ${jobs.length} jobs ${[...byProc.values()].join("+")}: issued-rootEnd ${f(jobs.map((j) => j.data.calls[0]!.issuedAt - rootEnd))} added-issued ${f(jobs.map((j) => j.timestamp - j.data.calls[0]!.issuedAt))} taken-added ${f(jobs.map((j) => (j.processedOn ?? 0) - j.timestamp))}`,
      );
  }
  if (profileDir) {
    writeFileSync(`${profileDir}/windows.json`, JSON.stringify(windows));
    writeFileSync(`${profileDir}/fan-outs.json`, JSON.stringify(fanOuts));
  }
  const stats = await Promise.all(procs.map((p) => p.stats()));
  console.log(stats.map((s) => JSON.stringify(s.live)).join("\n"));
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await client.close();
  await rootQueue.close();
  redisInfo.disconnect();
  await mock.stop();
  await deleteKeys(prefix);
  process.exit(0);
}
