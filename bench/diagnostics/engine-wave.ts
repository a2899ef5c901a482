// Diagnostic: figure 1's in-process fan-out with the mock's scripted model answering in
// this process (no HTTP, no mock process): when each wave's 50 calls reach the model and
// what the engine alone gives against the ideal 1000 ms (not part of npm run bench).
// node --no-node-snapshot --import tsx bench/diagnostics/engine-wave.ts [runs]
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { playedModel } from "../support/played-model.js";

const runs = Number(process.argv[2] ?? 8);
const model = playedModel({ strategy: "map-reduce", chunkChars: 10_000 });
const document = documentForChunks(100, 10_000);
const rlm = new Rlm({ modelClient: model, ...MOCK_MODELS, subConcurrency: 50 });
const walls: number[] = [];
for (let run = 0; run <= runs; run += 1) {
  model.latencyMs = run === 0 ? 0 : 200; // run 0 warms up, not counted
  model.calls.length = 0;
  const t0 = performance.now();
  const result = await rlm.completion(querySubject(document), document.text);
  const wall = performance.now() - t0;
  if (result.answer.trim() !== String(document.markerCount)) throw new Error("wrong answer");
  if (run === 0) continue;
  walls.push(wall);
  const subs = model.calls.filter((call) => call.kind === "sub").map((call) => call.at - t0);
  const roots = model.calls.filter((call) => call.kind !== "sub").map((call) => call.at - t0);
  const f = (value: number | undefined) => (value ?? -1).toFixed(1);
  console.log(
    `wall ${f(wall)} | root calls at ${roots.map(f).join(", ")} | wave 1 ${f(subs[0])}..${f(subs[49])} | wave 2 ${f(subs[50])}..${f(subs[99])}`,
  );
}
walls.sort((a, b) => a - b);
console.log(`median wall ${walls[walls.length >> 1]!.toFixed(0)} ms over ${walls.length} runs`);
