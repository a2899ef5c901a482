// Diagnostic: figure 1's floor comparison alone (bench/bare-floor.ts), without Redis or
// the queue: in-process ÷ bare client, pairs taken alternately, against the mock process.
// node --no-node-snapshot --import tsx bench/diagnostics/floor.ts [N=100] [C=50] [pairs=5]
import { compareWithBare } from "../bare-floor.js";
import { fmt } from "../support/bench-context.js";
import { MockProcess } from "../support/mock-client.js";

const [n = 100, concurrency = 50, reps = 5] = process.argv.slice(2).map(Number);
const mock = await MockProcess.start();
try {
  const result = await compareWithBare(
    { mock, log: (line) => process.stderr.write(`${line}\n`) },
    { n, concurrency, latencyMs: 200, chunkChars: 10_000, reps },
  );
  const ratios = result.pairs.map((pair) => pair.ratio).sort((a, b) => a - b);
  console.log(
    `N=${n} C=${concurrency}: median ${fmt(result.ratio, 3)}× (in process ${Math.round(result.inProcessMedianMs)} ms, bare ${Math.round(result.bareMedianMs)} ms, ideal ${result.idealMs} ms); ratios ${ratios.map((r) => fmt(r, 3)).join(" ")}; on a plain node:http client (no SDK) ${fmt(result.plainClientRatio, 3)}×`,
  );
} finally {
  await mock.stop();
}
