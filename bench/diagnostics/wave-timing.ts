// Diagnostic: when an in-process fan-out's requests are written by the client vs when the
// mock has them, and where the rest of the time between model calls goes (not part of npm
// run bench). Per run it prints the gaps between one model call's answer and the next
// call, the mock's mean lateness, and the two waves; at the end the median wall.
// node --no-node-snapshot --import tsx bench/diagnostics/wave-timing.ts
// WAVE_RUNS=15: measured runs (default 4; medians of 15 still move by ±5 ms here).
// Also wave 1's dispatch: wall, this process's CPU and its main thread's, and the garbage
// collections, from the first to the 50th write; and each thread's time on a CPU and
// runnable but waiting for one (the kernel's schedstat), here and in the mock.
// WAVE_WARMUPS=N: analyses at L=0 first (default 1). MOCK_ARGV="flags": node flags of the mock.
// WAVE_EVENTS=1: also each run's timeline (machine events and root calls at the mock).
// MOCK_PROF=DIR: profile the mock process too (--cpu-prof into DIR).
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";

const writes: number[] = [];
// This process's CPU (all threads) at the first and the 50th sub-call write of wave 1.
const dispatchCpu: NodeJS.CpuUsage[] = [];
// The main thread's time on a CPU (ns, the kernel's schedstat), at the same two writes.
const mainThreadNs: number[] = [];
const mainThreadOnCpu = () =>
  Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
// Every thread of a process: name → [ns on a CPU, ns runnable but waiting for one].
const threadTimes = (pid: number | "self") => {
  const times = new Map<string, [number, number]>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = `${readFileSync(`/proc/${pid}/task/${task}/comm`, "utf8").trim()}#${task}`;
      const [run, wait] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ");
      times.set(name, [Number(run), Number(wait)]);
    } catch {
      // The thread ended.
    }
  }
  return times;
};
const threadMarks: Array<Map<string, [number, number]>> = [];
let mockPid = 0;
// Garbage collections: [start (epoch ms), duration ms, kind (1 scavenge, 4 mark-compact…)].
const collections: Array<[number, number, number]> = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail: { kind: number } }).detail.kind;
    collections.push([performance.timeOrigin + entry.startTime, entry.duration, kind]);
  }
}).observe({ entryTypes: ["gc"] });
// process.hrtime (the profiler's clock) in µs minus performance.now() in µs.
const tickOffset = process.hrtime.bigint() / 1000n - BigInt(Math.round(performance.now() * 1000));
const writeTicks: bigint[] = [];
const windows: Array<[string, string]> = [];
// The model client's transport (undici) writes each request's head to its socket as a string.
const original = net.Socket.prototype.write;
net.Socket.prototype.write = function write(this: net.Socket, ...args: unknown[]) {
  if (typeof args[0] === "string" && args[0].startsWith("POST ")) {
    if (writes.length === 2 || writes.length === 51) {
      dispatchCpu.push(process.cpuUsage());
      mainThreadNs.push(mainThreadOnCpu());
      threadMarks.push(threadTimes("self"), threadTimes(mockPid));
    }
    writes.push(performance.timeOrigin + performance.now());
    writeTicks.push(process.hrtime.bigint() / 1000n);
  }
  return (original as (...a: unknown[]) => boolean).apply(this, args);
} as typeof original;
const mock = await MockProcess.start([
  ...(process.env.MOCK_PROF
    ? ["--cpu-prof", "--cpu-prof-interval", "200", `--cpu-prof-dir=${process.env.MOCK_PROF}`]
    : []),
  ...(process.env.MOCK_ARGV ? process.env.MOCK_ARGV.split(" ") : []),
]);
mockPid = mock.pid!;
const document = documentForChunks(100, 10_000);
const events: Array<[string, number]> = [];
const rlm = new Rlm({
  baseURL: mock.url,
  apiKey: "k",
  ...MOCK_MODELS,
  subConcurrency: 50,
  onEvent: (event) => {
    if (event.type === "subcall_start" || event.type === "subcall_end") return;
    const label = `${event.type}${"iteration" in event ? event.iteration : ""}`;
    events.push([label, performance.timeOrigin + performance.now()]);
  },
});
const measured = Number(process.env.WAVE_RUNS ?? 4);
const walls: number[] = [];
const warmUps = Number(process.env.WAVE_WARMUPS ?? 1);
for (const latencyMs of [
  ...Array.from({ length: warmUps }, () => 0),
  ...Array.from({ length: measured }, () => 200),
]) {
  await mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: 10_000 });
  writes.length = 0;
  writeTicks.length = 0;
  dispatchCpu.length = 0;
  mainThreadNs.length = 0;
  threadMarks.length = 0;
  events.length = 0;
  const t0 = performance.timeOrigin + performance.now();
  await rlm.completion(querySubject(document), document.text);
  const wall = performance.timeOrigin + performance.now() - t0;
  if (latencyMs === 0) continue;
  walls.push(wall);
  const requests = await mock.requests();
  const subs = requests.filter((request) => request.kind === "sub");
  const starts = subs.map((request) => request.startedAt - t0).sort((a, b) => a - b);
  const sent = writes.slice(2, 102).map((at) => at - t0);
  const f = (value: number | undefined) => Math.round(value ?? -1);
  const roots = requests.filter((request) => request.kind !== "sub");
  const lastSubEnd = Math.max(...subs.map((request) => request.endedAt ?? 0));
  // Profile windows (µs, the profiler's clock): WAVE_WINDOW=wave — the first wave, from
  // 10 ms before its first write to its 50th; =gaps — between one model call's answer and
  // the next call (root 1 → root 2, root 2 → first sub-call, last sub-call → root 3),
  // and root 3's answer → the result; =tight — the first wave, first write to 50th;
  // =lead — root 2's answer at the mock → the first sub-call's write; =start — the call
  // of `completion` → root 1 at the mock.
  const toTicks = (epochMs: number) =>
    String(BigInt(Math.round((epochMs - performance.timeOrigin) * 1000)) + tickOffset);
  if (process.env.WAVE_WINDOW === "start") {
    windows.push([toTicks(t0), toTicks(roots[0]!.startedAt)]);
  } else if (process.env.WAVE_WINDOW === "lead") {
    windows.push([toTicks(roots[1]!.endedAt ?? 0), String(writeTicks[2] ?? 0n)]);
  } else if (process.env.WAVE_WINDOW === "gaps") {
    windows.push([toTicks(roots[0]!.endedAt ?? 0), toTicks(roots[1]!.startedAt)]);
    windows.push([toTicks(roots[1]!.endedAt ?? 0), toTicks(starts[0]! + t0)]);
    windows.push([toTicks(lastSubEnd), toTicks(roots[2]!.startedAt)]);
    windows.push([toTicks(roots[2]!.endedAt ?? 0), toTicks(t0 + wall)]);
  } else {
    const lead = process.env.WAVE_WINDOW === "tight" ? 0n : 10_000n;
    windows.push([String((writeTicks[2] ?? 0n) - lead), String(writeTicks[51] ?? 0n)]);
  }
  if (process.env.WAVE_EVENTS) {
    const marks: Array<[string, number]> = [...events];
    roots.forEach((root, index) => {
      marks.push([`r${index + 1}@mock`, root.startedAt]);
      marks.push([`r${index + 1}-end@mock`, root.endedAt ?? 0]);
    });
    marks.push(["end", t0 + wall]);
    marks.sort((a, b) => a[1] - b[1]);
    console.log(marks.map(([name, at]) => `${name} ${(at - t0).toFixed(1)}`).join(" | "));
  }
  const gap = (from: number | null | undefined, to: number | undefined) => (to ?? 0) - (from ?? 0);
  const late =
    requests.reduce((sum, request) => sum + gap(request.startedAt, request.endedAt ?? 0), 0) /
      requests.length -
    latencyMs;
  console.log(
    `root 1 written at ${f(writes[0]! - t0)} | gaps: start→r1 ${f(roots[0]!.startedAt - t0)} r1→r2 ${f(gap(roots[0]!.endedAt, roots[1]!.startedAt))} r2→sub ${f(gap(roots[1]!.endedAt, starts[0]! + t0))} subs→r3 ${f(gap(lastSubEnd, roots[2]!.startedAt))} r3→end ${f(gap(roots[2]!.endedAt, t0 + wall))} | mock late ${late.toFixed(2)} ms per call`,
  );
  console.log(
    `wall ${f(wall)} | written w1 ${f(sent[0])}..${f(sent[49])} w2 ${f(sent[50])}..${f(sent[99])} | at mock w1 ${f(starts[0])}..${f(starts[49])} w2 ${f(starts[50])}..${f(starts[99])} | root3 ${f(requests.at(-1)!.startedAt - t0)}`,
  );
  const [cpuAtFirst, cpuAtLast] = dispatchCpu;
  if (cpuAtFirst && cpuAtLast) {
    const ms = (micros: number) => (micros / 1000).toFixed(1);
    console.log(
      `wave 1 dispatch (first → 50th write): wall ${ms(1000 * (writes[51]! - writes[2]!))} ms, CPU ${ms(cpuAtLast.user - cpuAtFirst.user + cpuAtLast.system - cpuAtFirst.system)} ms (system ${ms(cpuAtLast.system - cpuAtFirst.system)}), main thread ${((mainThreadNs[1]! - mainThreadNs[0]!) / 1e6).toFixed(1)} ms; collections in it: ${collections
        .filter(([at, d]) => at + d >= writes[2]! && at <= writes[51]!)
        .map(([, d, k]) => `k${k} ${d.toFixed(1)}`)
        .join(", ")}`,
    );
    const [selfAtFirst, mockAtFirst, selfAtLast, mockAtLast] = threadMarks;
    const busy = (
      label: string,
      first?: Map<string, [number, number]>,
      last?: Map<string, [number, number]>,
    ) =>
      [...(last ?? [])]
        .map(([name, [run, wait]]) => {
          const [run0, wait0] = first?.get(name) ?? [0, 0];
          return [name, (run - run0) / 1e6, (wait - wait0) / 1e6] as const;
        })
        .filter(([, run, wait]) => run + wait >= 0.3)
        .map(([name, run, wait]) => `${label}${name} ${run.toFixed(1)}+${wait.toFixed(1)}w`)
        .join(", ");
    console.log(
      `  threads (ms on a CPU + ms waiting for one): ${busy("", selfAtFirst, selfAtLast)}; ${busy("mock:", mockAtFirst, mockAtLast)}`,
    );
  }
}
walls.sort((a, b) => a - b);
console.log(`median wall ${Math.round(walls[walls.length >> 1] ?? -1)} over ${walls.length} runs`);
await mock.stop?.();
if (process.env.WAVE_WINDOWS) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(process.env.WAVE_WINDOWS, JSON.stringify(windows));
}
