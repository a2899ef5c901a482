// Diagnostic: how long a sandbox takes to build and to run an analysis's first cells, with
// no model around it (not part of npm run bench). The cells are the mock's map-reduce
// script on figure 1's document; sub-calls answer at once.
// node --no-node-snapshot --import tsx bench/diagnostics/cell-latency.ts [runs]
import { DEFAULT_LIMITS } from "@rlm/core";
import { strategyScript } from "@rlm/mock-llm";
import { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
import { documentForChunks, querySubject } from "../support/documents.js";

const runs = Number(process.argv[2] ?? 16);
const document = documentForChunks(100, 10_000);
const input = { query: querySubject(document), term: document.marker, chunkChars: 10_000 };
const [peek, fanOut] = strategyScript("map-reduce", input)
  .slice(0, 2)
  .map((reply) => /```(?:repl|js)\n([\s\S]*?)```/.exec(reply)?.[1] ?? "");
const factory = createIsolatedVmSandboxFactory();
const loaded = await factory.loadDocument(document.text);
const rows: Array<{ create: number; peek: number; fanOut: number }> = [];
for (let run = 0; run < runs; run += 1) {
  const t0 = performance.now();
  const sandbox = await factory.create({
    document: loaded,
    seed: `run-${run}`,
    limits: DEFAULT_LIMITS,
    onSubCall: async () => "1",
  });
  const t1 = performance.now();
  await sandbox.execute({ code: peek!, cellKey: "1.1" });
  const t2 = performance.now();
  const fanned = await sandbox.execute({ code: fanOut!, cellKey: "2.1" });
  const t3 = performance.now();
  if (fanned.error) throw new Error(fanned.error);
  sandbox.dispose();
  rows.push({ create: t1 - t0, peek: t2 - t1, fanOut: t3 - t2 });
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
// The first run pays for loading the code; the medians are over the others.
const warm = rows.slice(1);
console.log(
  `median of ${warm.length} runs: create ${median(warm.map((row) => row.create)).toFixed(1)} ms, first cell (peek) ${median(warm.map((row) => row.peek)).toFixed(1)} ms, fan-out cell (100 sub-calls answered at once) ${median(warm.map((row) => row.fanOut)).toFixed(1)} ms`,
);
