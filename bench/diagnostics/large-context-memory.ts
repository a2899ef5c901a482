// Diagnostic: figure 4's analysis with a memory timeline of the worker (not part of npm run bench).
// node --no-node-snapshot --import tsx bench/diagnostics/large-context-memory.ts [MB]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { RlmQueueClient } from "@rlm/queue";
import { largeDocument, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { deleteKeys, REDIS } from "../support/redis-keys.js";
import { WorkerProcess } from "../support/workers.js";

const size = Number(process.argv[2] ?? 10) * 1_000_000;
const prefix = `rlmdiag-${process.pid}`;
const out = `/tmp/rss-${process.pid}.json`;
process.env.RSS_SAMPLER_OUT = out;
const sampler = fileURLToPath(new URL("./rss-sampler.mjs", import.meta.url));
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
const worker = await WorkerProcess.start({
  prefix,
  modelUrl: mock.url,
  execArgv: [
    "--import",
    sampler,
    ...(process.env.EXTRA_ARGV ? process.env.EXTRA_ARGV.split(" ") : []),
  ],
});
const document = largeDocument(size);
const chunkChars = Math.ceil(document.text.length / 10) + 1_000;
if (process.env.WARM) {
  // A small analysis first: the worker's fixed costs (an isolate, JIT) are then in idle.
  const small = largeDocument(1_000_000);
  await mock.reset({
    latencyMs: 0,
    strategy: "map-reduce",
    chunkChars: Math.ceil(small.text.length / 10) + 1_000,
  });
  const warm = await client.enqueueAnalysis({ query: querySubject(small), context: small.text });
  await client.waitForResult(warm.id, { timeoutMs: 60_000 });
}
const idle = await worker.stats();
await mock.reset({
  latencyMs: 200,
  strategy: "map-reduce",
  chunkChars,
  habits: process.env.HABITS ? (process.env.HABITS.split(",") as never) : [],
});
const t0 = Date.now();
const { id } = await client.enqueueAnalysis({
  query: querySubject(document),
  context: document.text,
});
const t1 = Date.now();
const result = await client.waitForResult(id, { timeoutMs: 300_000 });
const peak = await worker.stats();
const events: Array<[number, string]> = [[t1 - t0, "enqueue returned"]];
for (const r of await mock.requests()) {
  events.push([r.startedAt - t0, `${r.kind} start`], [(r.endedAt ?? 0) - t0, `${r.kind} end`]);
}
await worker.stop();
await mock.stop?.();
const rows = JSON.parse(readFileSync(out, "utf8")) as Array<[number, ...unknown[]]>;
const MB = 1024 * 1024;
console.log(
  `answer ${result.answer} idle ${(idle.maxRssBytes / MB).toFixed(1)} peak ${(peak.maxRssBytes / MB).toFixed(1)} growth/doc ${((peak.maxRssBytes - idle.maxRssBytes) / Buffer.byteLength(document.text)).toFixed(2)}`,
);
const merged: Array<[number, string]> = [
  ...events,
  ...rows
    .filter((r) => r[0] >= t0 - 50)
    .map(
      (r) =>
        [r[0] - t0, `rss/heapUsed/heapTotal/external/ab ${r.slice(1).join(" / ")}`] as [
          number,
          string,
        ],
    ),
];
merged.sort((a, b) => a[0] - b[0]);
for (const [at, what] of merged) console.log(String(at).padStart(6), what);
await client.close?.();
// The document (up to 100 MB) and the analysis's keys must not stay in Redis.
await deleteKeys(prefix);
process.exit(0);
