// Diagnostic: figure 1's in-process fan-out against the mock and against a minimal
// OpenAI-compatible server that plays the same script (lean-server-main.ts: node's `net`,
// no recording, L from each request's arrival), alternately: how much of the wall is the
// mock's own CPU on the shared cores (not part of npm run bench).
// node --no-node-snapshot --import tsx bench/diagnostics/server-cost.ts [rounds]
import { fileURLToPath } from "node:url";
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { spawnTs } from "../support/spawn-ts.js";

const rounds = Number(process.argv[2] ?? 12);
const lean = await spawnTs(fileURLToPath(new URL("./lean-server-main.ts", import.meta.url)), {
  LATENCY_MS: "200",
});
const mock = await MockProcess.start();
const settings = { latencyMs: 200, strategy: "map-reduce", chunkChars: 10_000 } as const;
const document = documentForChunks(100, 10_000);
const servers = { mock: mock.url, minimal: lean.readyLine.trim() };
const walls: Record<string, number[]> = { mock: [], minimal: [] };
for (let round = -1; round < rounds; round += 1) {
  for (const [name, url] of Object.entries(servers)) {
    if (name === "mock") await mock.reset(settings);
    const rlm = new Rlm({ baseURL: url, apiKey: "k", ...MOCK_MODELS, subConcurrency: 50 });
    const t0 = performance.now();
    const result = await rlm.completion(querySubject(document), document.text);
    if (result.answer.trim() !== String(document.markerCount)) throw new Error("wrong answer");
    if (round >= 0) walls[name]!.push(performance.now() - t0); // round -1 warms up
  }
}
for (const [name, list] of Object.entries(walls)) {
  list.sort((a, b) => a - b);
  const median = list[list.length >> 1]!;
  console.log(
    `${name}: median wall ${median.toFixed(0)} ms (efficiency ${(1000 / median).toFixed(3)}), min ${list[0]!.toFixed(0)}, max ${list.at(-1)!.toFixed(0)} over ${list.length} runs`,
  );
}
lean.kill("SIGTERM");
await mock.stop();
