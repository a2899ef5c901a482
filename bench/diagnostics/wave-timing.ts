// Diagnostic: when an in-process fan-out's requests are written by the client vs when the
// mock has them (not part of npm run bench).
// node --no-node-snapshot --import tsx bench/diagnostics/wave-timing.ts
import http from "node:http";
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";

const writes: number[] = [];
// process.hrtime (the profiler's clock) in µs minus performance.now() in µs.
const tickOffset = process.hrtime.bigint() / 1000n - BigInt(Math.round(performance.now() * 1000));
const writeTicks: bigint[] = [];
const windows: Array<[string, string]> = [];
const original = http.ClientRequest.prototype.end;
http.ClientRequest.prototype.end = function end(this: http.ClientRequest, ...args: unknown[]) {
  writes.push(performance.timeOrigin + performance.now());
  writeTicks.push(process.hrtime.bigint() / 1000n);
  return (original as (...a: unknown[]) => http.ClientRequest).apply(this, args);
} as typeof original;
const mock = await MockProcess.start();
const document = documentForChunks(100, 10_000);
const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", ...MOCK_MODELS, subConcurrency: 50 });
for (const latencyMs of [0, 200, 200, 200, 200]) {
  await mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: 10_000 });
  writes.length = 0;
  writeTicks.length = 0;
  const t0 = performance.timeOrigin + performance.now();
  await rlm.completion(querySubject(document), document.text);
  const wall = performance.timeOrigin + performance.now() - t0;
  if (latencyMs === 0) continue;
  const requests = await mock.requests();
  const subs = requests.filter((request) => request.kind === "sub");
  const starts = subs.map((request) => request.startedAt - t0).sort((a, b) => a - b);
  const sent = writes.slice(2, 102).map((at) => at - t0);
  const f = (value: number | undefined) => Math.round(value ?? -1);
  // Profile windows (µs, the profiler's clock): WAVE_WINDOW=wave — the first wave, from
  // 10 ms before its first write to its 50th; =gaps — between one model call's answer and
  // the next call (root 1 → root 2, root 2 → first sub-call, last sub-call → root 3).
  const toTicks = (epochMs: number) =>
    String(BigInt(Math.round((epochMs - performance.timeOrigin) * 1000)) + tickOffset);
  if (process.env.WAVE_WINDOW === "gaps") {
    const roots = requests.filter((request) => request.kind !== "sub");
    const lastSubEnd = Math.max(...subs.map((request) => request.endedAt ?? 0));
    windows.push([toTicks(roots[0]!.endedAt ?? 0), toTicks(roots[1]!.startedAt)]);
    windows.push([toTicks(roots[1]!.endedAt ?? 0), toTicks(starts[0]! + t0)]);
    windows.push([toTicks(lastSubEnd), toTicks(roots[2]!.startedAt)]);
  } else {
    windows.push([String((writeTicks[2] ?? 0n) - 10_000n), String(writeTicks[51] ?? 0n)]);
  }
  console.log(
    `wall ${f(wall)} | written w1 ${f(sent[0])}..${f(sent[49])} w2 ${f(sent[50])}..${f(sent[99])} | at mock w1 ${f(starts[0])}..${f(starts[49])} w2 ${f(starts[50])}..${f(starts[99])} | root3 ${f(requests.at(-1)!.startedAt - t0)}`,
  );
}
await mock.stop?.();
if (process.env.WAVE_WINDOWS) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(process.env.WAVE_WINDOWS, JSON.stringify(windows));
}
