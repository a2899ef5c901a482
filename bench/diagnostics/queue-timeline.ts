// Diagnostic: one queue fan-out's timeline (not part of npm run bench).
import { createLlmQueue, createRootQueue, redisKeys, RlmQueueClient } from "@rlm/queue";
import { Redis } from "ioredis";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { REDIS } from "../support/redis-keys.js";
import { WorkerProcess } from "../support/workers.js";

const prefix = `rlmdiag-${process.pid}`;
const mock = await MockProcess.start();
const client = new RlmQueueClient({ connection: { ...REDIS }, prefix });
const redis = new Redis(REDIS);
const worker = await WorkerProcess.start({ prefix, modelUrl: mock.url, llmConcurrency: 50 });
const document = documentForChunks(100, 10_000);
for (const latencyMs of [0, 200, 200]) {
  await mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: 10_000 });
  const t0 = Date.now();
  const { id } = await client.enqueueAnalysis({
    query: querySubject(document),
    context: document.text,
  });
  const t1 = Date.now();
  await client.waitForResult(id, { timeoutMs: 60_000 });
  const t2 = Date.now();
  if (latencyMs === 0) continue;
  const lines: Array<[number, string]> = [
    [0, "enqueue start"],
    [t1 - t0, "enqueue returned"],
    [t2 - t0, "result seen"],
  ];
  for (const r of await mock.requests()) {
    if (r.kind !== "sub")
      lines.push([r.startedAt - t0, `root call start`], [(r.endedAt ?? 0) - t0, `root call end`]);
  }
  const subs = (await mock.requests()).filter((r) => r.kind === "sub");
  const starts = subs.map((r) => r.startedAt - t0).sort((a, b) => a - b);
  const ends = subs.map((r) => (r.endedAt ?? 0) - t0).sort((a, b) => a - b);
  lines.push(
    [starts[0]!, "sub first start"],
    [starts[49]!, "sub 50th start"],
    [starts[50]!, "sub 51st start"],
    [starts[99]!, "sub last start"],
  );
  lines.push([ends[0]!, "sub first end"], [ends[49]!, "sub 50th end"], [ends[99]!, "sub last end"]);
  const llm = createLlmQueue({ connection: { ...REDIS }, prefix });
  for (const job of (await llm.getJobs(["completed"], 0, -1)).filter(
    (j) => j.data.analysisId === id,
  )) {
    lines.push(
      [job.timestamp - t0, `lm job add (${job.data.calls.length})`],
      [(job.processedOn ?? 0) - t0, "lm job start"],
      [(job.finishedOn ?? 0) - t0, "lm job done"],
    );
  }
  await llm.close();
  const root = createRootQueue({ connection: { ...REDIS }, prefix });
  const rj = await root.getJob(id);
  lines.push(
    [(rj?.processedOn ?? 0) - t0, "root processedOn (last)"],
    [(rj?.finishedOn ?? 0) - t0, "root finishedOn"],
  );
  await root.close();
  const entries = (await redis.xrange(redisKeys(prefix).events(id), "-", "+")) as Array<
    [string, string[]]
  >;
  for (const [sid, fields] of entries) {
    const ev = JSON.parse(fields[3] ?? "{}");
    lines.push([
      Number(sid.split("-")[0]) - t0,
      `event ${ev.type} ${ev.engine?.type ?? ev.status ?? ""}`,
    ]);
  }
  lines.sort((a, b) => a[0] - b[0]);
  console.log(`--- L=${latencyMs} wall ${t2 - t0}`);
  for (const [t, what] of lines) console.log(String(t).padStart(6), what);
}
await worker.stop();
await client.close();
await mock.stop();
const keys = await redis.keys(`${prefix}:*`);
if (keys.length) await redis.del(...keys);
redis.disconnect();
