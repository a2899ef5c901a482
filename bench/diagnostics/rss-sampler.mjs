// Diagnostic preload (node --import): samples this process's memory every 2 ms and writes the
// changes to $RSS_SAMPLER_OUT at exit, for finding which phase makes the peak RSS.
import { writeFileSync } from "node:fs";
const out = process.env.RSS_SAMPLER_OUT;
const rows = [];
let last = 0;
const MB = 1024 * 1024;
const sample = () => {
  const m = process.memoryUsage();
  if (Math.abs(m.rss - last) > 1 * MB) {
    last = m.rss;
    rows.push([
      Date.now(),
      +(m.rss / MB).toFixed(1),
      +(m.heapUsed / MB).toFixed(1),
      +(m.heapTotal / MB).toFixed(1),
      +(m.external / MB).toFixed(1),
      +(m.arrayBuffers / MB).toFixed(1),
    ]);
  }
};
const timer = setInterval(sample, 2);
if (process.env.RSS_SAMPLER_GC && globalThis.gc)
  setInterval(() => globalThis.gc(), Number(process.env.RSS_SAMPLER_GC)).unref();
timer.unref();
globalThis.__rssMark = (label) => rows.push([Date.now(), label]);
process.on("exit", () => {
  if (out) writeFileSync(out, JSON.stringify(rows));
});
