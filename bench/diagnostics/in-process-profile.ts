// Diagnostic: where an in-process fan-out's main-thread time goes (not part of npm run bench).
// node --no-node-snapshot --cpu-prof --cpu-prof-dir=/tmp/rlm-prof-in --import tsx \
//   bench/diagnostics/in-process-profile.ts [runs]
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";

const runs = Number(process.argv[2] ?? 10);
const mock = await MockProcess.start();
const document = documentForChunks(100, 10_000);
await mock.reset({ latencyMs: 200, strategy: "map-reduce", chunkChars: 10_000 });
const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", ...MOCK_MODELS, subConcurrency: 50 });
const walls: number[] = [];
for (let index = 0; index < runs; index += 1) {
  const started = performance.now();
  await rlm.completion(querySubject(document), document.text);
  walls.push(Math.round(performance.now() - started));
}
console.log(`walls ${walls.join(" ")}`);
await mock.stop?.();
