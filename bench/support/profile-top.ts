// Prints the functions with the most self time in a .cpuprofile (for profiling a missed goal):
// node --import tsx bench/support/profile-top.ts FILE [N] [WINDOWS]
// WINDOWS: a JSON file of [start, end] pairs in the profiler's clock (µs), as
// bench/diagnostics/wave-timing.ts writes with WAVE_WINDOWS=FILE: only the samples inside
// them count, and the functions with the most inclusive time are listed too.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, count = "25", windowsFile] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-top.ts FILE [N] [WINDOWS]");
const profile = JSON.parse(readFileSync(file, "utf8")) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
};
const windows = windowsFile
  ? (JSON.parse(readFileSync(windowsFile, "utf8")) as Array<[string, string]>).map(
      ([start, end]) => [Number(start), Number(end)] as const,
    )
  : undefined;
const inWindow = (at: number) =>
  windows === undefined || windows.some(([start, end]) => at >= start && at < end);

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parents.set(child, node.id);
const frameName = (node: ProfileNode) => {
  const frame = node.callFrame;
  const where = frame.url
    ? `${frame.url.replace(/^.*\/(node_modules|packages|bench)\//, "$1/")}:${frame.lineNumber + 1}`
    : "";
  return `${frame.functionName || "(anonymous)"} ${where}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let at = profile.startTime;
let counted = 0;
for (const [index, id] of profile.samples.entries()) {
  at += profile.timeDeltas[index] ?? 0;
  // A sample stands for the time until the next one.
  const micros = profile.timeDeltas[index + 1] ?? 0;
  if (!inWindow(at)) continue;
  counted += micros;
  const node = nodes.get(id)!;
  self.set(frameName(node), (self.get(frameName(node)) ?? 0) + micros);
  if (windows === undefined) continue;
  const seen = new Set<string>();
  for (let up: number | undefined = id; up !== undefined; up = parents.get(up)) {
    const name = frameName(nodes.get(up)!);
    if (seen.has(name)) continue; // recursion counts once
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
  }
}
const print = (title: string, times: Map<string, number>) => {
  console.log(title);
  for (const [name, micros] of [...times.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(count))) {
    console.log(`${(micros / 1000).toFixed(1).padStart(8)} ms  ${name}`);
  }
};
const span = windows?.reduce((sum, [start, end]) => sum + end - start, 0);
console.log(
  windows
    ? `${windows.length} windows, ${(span! / 1000).toFixed(1)} ms, ${(counted / 1000).toFixed(1)} ms of samples`
    : `profile ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`,
);
print("self time:", self);
if (windows) print("inclusive time:", inclusive);
