// Diagnostic: what the engine's spans cost (not part of npm run bench). Figure 1's
// analysis (100 sub-calls over 10,000-character chunks, the mock's map-reduce script
// played in this process, answers at once: the engine alone, where any overhead shows
// most), timed in a process with no OpenTelemetry SDK (`off`: every span the API's
// no-op, as in a process without OTEL_EXPORTER_OTLP_ENDPOINT) or with one keeping spans
// in memory (`on`). Run both, alternately, a few times each:
// node --no-node-snapshot --import tsx bench/diagnostics/tracing-cost.ts off|on [runs]
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { playedModel } from "../support/played-model.js";

const mode = process.argv[2] === "on" ? "on" : "off";
const runs = Number(process.argv[3] ?? 30);
const document = documentForChunks(100, 10_000);
const model = playedModel({ strategy: "map-reduce", chunkChars: 10_000 });
const query = `How many times does "${document.marker}" appear in ${querySubject(document)}?`;
const exporter = new InMemorySpanExporter();
if (mode === "on") {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
}

async function analysis(): Promise<number> {
  const rlm = new Rlm({ modelClient: model, ...MOCK_MODELS, subConcurrency: 50 });
  const started = performance.now();
  const result = await rlm.completion(query, document.text);
  if (result.answer.trim() !== String(document.markerCount)) throw new Error(result.answer);
  return performance.now() - started;
}

for (let warm = 0; warm < 4; warm += 1) await analysis();
const times: number[] = [];
for (let run = 0; run < runs; run += 1) {
  exporter.reset();
  times.push(await analysis());
}
const spans = exporter.getFinishedSpans().length;
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `${mode}: median ${sorted[runs >> 1]!.toFixed(1)} ms, p10 ${sorted[Math.floor(runs / 10)]!.toFixed(1)} ms over ${runs} analyses (100 sub-calls; ${spans} spans each)`,
);
