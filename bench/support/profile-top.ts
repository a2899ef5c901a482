// Prints the functions with the most self time in a .cpuprofile (for profiling a missed goal):
// node --import tsx bench/support/profile-top.ts FILE [N]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, count = "25"] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-top.ts FILE [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
};
const self = new Map<number, number>();
for (const [index, id] of profile.samples.entries()) {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
}
const byFrame = new Map<string, number>();
for (const node of profile.nodes) {
  const frame = node.callFrame;
  const where = frame.url
    ? `${frame.url.replace(/^.*\/(node_modules|packages)\//, "$1/")}:${frame.lineNumber + 1}`
    : "";
  const key = `${frame.functionName || "(anonymous)"} ${where}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + (self.get(node.id) ?? 0));
}
const total = profile.endTime - profile.startTime;
console.log(`profile ${(total / 1000).toFixed(0)} ms`);
for (const [key, micros] of [...byFrame.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count))) {
  console.log(`${(micros / 1000).toFixed(1).padStart(8)} ms  ${key}`);
}
