// `node --import tsx bench/sse-streams.ts [--streams 500]`: the API's memory per open
// event stream, and its Redis connections with that many streams open. The API runs in
// its own process (bench/sse-server.ts); this one opens the streams over node:http.
// Memory per stream = (RSS with N streams open − RSS with none) / N, each taken after a
// full GC in the API process, the median of three measures.
import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Agent, get, type IncomingMessage, request } from "node:http";
import { redisKeys } from "@rlm/queue";
import { Redis } from "ioredis";
import { benchPrefix, deleteKeys, REDIS } from "./support/redis-keys.js";
import { spawnTs } from "./support/spawn-ts.js";

const args = process.argv.slice(2);
const streamsIndex = args.indexOf("--streams");
const STREAMS = streamsIndex >= 0 ? Number(args[streamsIndex + 1]) : 500;
const TOKEN = "sse-bench-token";
const prefix = benchPrefix();
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Measure {
  rss: number;
  heapUsed: number;
  streams: number;
}

const api = await spawnTs(
  new URL("./sse-server.ts", import.meta.url).pathname,
  { SSE_BENCH_PREFIX: prefix, SSE_BENCH_TOKEN: TOKEN },
  { ipc: true, execArgv: ["--expose-gc"] },
);
const port = Number(api.readyLine);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const redis = new Redis(REDIS);
const open: IncomingMessage[] = [];
try {
  log(`sse bench: ${STREAMS} streams, prefix ${prefix}`);
  const ids: string[] = [];
  for (let i = 0; i < STREAMS; i += 1) ids.push(await createAnalysis(i));
  // Warm the process up: one stream opened, read and closed, so code paths are compiled.
  await openStream(ids[0]!).then((res) => res.destroy());
  const before = await medianMeasure(api.child);
  for (const id of ids) open.push(await openStream(id));
  await until(async () => [STREAMS, -1].includes((await measure(api.child)).streams));
  const during = await medianMeasure(api.child);
  const connections = String(await redis.client("LIST"))
    .split("\n")
    .filter((line) => line.includes(`name=rlm-api:${prefix}:`) || line.includes(`name=${prefix}:`));
  // One event to every stream: how long until each has it.
  const started = performance.now();
  const arrived = open.map((res) => once(res, "data"));
  await Promise.all(
    ids.map((id) =>
      redis.xadd(
        redisKeys(prefix).events(id),
        "*",
        "type",
        "status",
        "event",
        '{"type":"status","status":"running"}',
      ),
    ),
  );
  await Promise.all(arrived);
  const fanOutMs = performance.now() - started;
  const perStream = (during.rss - before.rss) / STREAMS;
  const result = {
    streams: STREAMS,
    rssBeforeMb: mb(before.rss),
    rssWithStreamsMb: mb(during.rss),
    rssPerStreamKb: Math.round(perStream / 1024),
    heapPerStreamKb: Math.round((during.heapUsed - before.heapUsed) / STREAMS / 1024),
    redisConnections: connections.length,
    oneEventToAllStreamsMs: Math.round(fanOutMs),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const res of open) res.destroy();
  api.child.send({ close: true });
  await Promise.race([api.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  api.kill();
  agent.destroy();
  redis.disconnect();
  await deleteKeys(prefix);
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

async function createAnalysis(index: number): Promise<string> {
  const body = JSON.stringify({ query: "q", context: `document ${index}` });
  const res = await send(
    request(`http://127.0.0.1:${port}/v1/analyses`, {
      method: "POST",
      agent,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    }),
    body,
  );
  let text = "";
  for await (const chunk of res) text += chunk;
  if (res.statusCode !== 202) throw new Error(`POST answered ${res.statusCode}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

async function send(req: ReturnType<typeof request>, body: string): Promise<IncomingMessage> {
  const response = once(req, "response") as Promise<[IncomingMessage]>;
  req.end(body);
  return (await response)[0];
}

async function openStream(id: string): Promise<IncomingMessage> {
  const req = get(`http://127.0.0.1:${port}/v1/analyses/${id}/events`, {
    agent,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const [res] = (await once(req, "response")) as [IncomingMessage];
  if (res.statusCode !== 200) throw new Error(`events answered ${res.statusCode}`);
  // Wait for the `retry:` line: the stream is open on the server.
  await once(res, "data");
  return res;
}

async function measure(child: ChildProcess): Promise<Measure> {
  const reply = once(child, "message") as Promise<[Measure]>;
  child.send({ measure: true });
  return (await reply)[0];
}

async function medianMeasure(child: ChildProcess): Promise<Measure> {
  const measures: Measure[] = [];
  for (let i = 0; i < 3; i += 1) measures.push(await measure(child));
  measures.sort((a, b) => a.rss - b.rss);
  return measures[1]!;
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the streams to open");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
