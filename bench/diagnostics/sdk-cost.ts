// Diagnostic (not part of npm run bench): what the openai SDK's client costs an in-process
// analysis, against the same engine on a model client of plain node:http (the bare
// client's sender, honouring the run's gate as ours does), and the bare client replaying
// the same calls: figure 1's analysis (N=100, C=50, L ms), the three taken in turn.
// node --no-node-snapshot --import tsx bench/diagnostics/sdk-cost.ts [rounds=8] [L=200]
import { Rlm } from "rlm-queue";
import { recordCalls } from "../bare-floor.js";
import { BareClient } from "../support/bare-client.js";
import { plainModelClient } from "../support/plain-model-client.js";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { median } from "../support/stats.js";

const [rounds = 8, latencyMs = 200] = process.argv.slice(2).map(Number);
const mock = await MockProcess.start();
const document = documentForChunks(100, 10_000);
const query = querySubject(document);

const reset = (latency: number) =>
  mock.reset({ latencyMs: latency, strategy: "map-reduce", chunkChars: 10_000 });
const groups = await recordCalls({ mock, log: () => undefined }, document, {
  concurrency: 50,
  chunkChars: 10_000,
});
const bare = new BareClient(mock.url);
const engines = {
  "engine + openai SDK": new Rlm({
    baseURL: mock.url,
    apiKey: "k",
    ...MOCK_MODELS,
    subConcurrency: 50,
    maxAttempts: 1,
  }),
  "engine + plain node:http": new Rlm({
    modelClient: plainModelClient(mock.url),
    ...MOCK_MODELS,
    subConcurrency: 50,
  }),
};
const paths: Record<string, () => Promise<unknown>> = {
  ...Object.fromEntries(
    Object.entries(engines).map(([name, rlm]) => [
      name,
      () => rlm.completion(query, document.text),
    ]),
  ),
  "bare client": () => bare.replay(groups, 50),
};
const walls = new Map<string, number[]>();
const names = Object.keys(paths);
for (let round = 0; round < rounds + 2; round += 1) {
  for (let index = 0; index < names.length; index += 1) {
    const name = names[(index + round) % names.length]!;
    await reset(0);
    await paths[name]!();
    await reset(latencyMs);
    const started = performance.now();
    await paths[name]!();
    const wall = performance.now() - started;
    if (round < 2) continue;
    walls.set(name, [...(walls.get(name) ?? []), wall]);
  }
}
bare.close();
await mock.stop();
const bareMedian = median(walls.get("bare client")!);
for (const [name, values] of walls) {
  console.log(
    `${name}: median ${median(values).toFixed(0)} ms (${(median(values) / bareMedian).toFixed(3)}× bare); ${values.map(Math.round).join(", ")}`,
  );
}
process.exit(0);
