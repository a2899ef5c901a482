// Diagnostic: what a 50-call wave costs the llm client and the server on this machine,
// without the engine (not part of npm run bench). Each round sends 50 sub-call prompts
// of 10,000 characters at once through `createOpenAIModelClient`, either each call in a
// task of its own (`setImmediate` first, as the engine does) or all in one task, to the
// mock (L = 200 ms) or to a bare HTTP responder that parses nothing (SERVER=raw:
// lean-server-main.ts with BARE=1), or to the minimal server that parses and answers as
// the mock does (SERVER=lean: lean-server-main.ts). MOCK_PROF=DIR profiles the mock. Prints,
// per mode, the median time until the 50th request's head was written, and the CPU time
// per request of both processes (user + system, from /proc; the server's system part).
// node --no-node-snapshot --import tsx bench/diagnostics/client-burst.ts [rounds]
import { readFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { subCallMessages } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { MOCK_MODELS } from "../support/bench-context.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { MockProcess } from "../support/mock-client.js";
import { spawnTs } from "../support/spawn-ts.js";

const rounds = Number(process.argv[2] ?? 20);
const raw = process.env.SERVER === "raw" || process.env.SERVER === "lean";
let serverPid: number;
let url: string;
let stopServer: () => Promise<void>;
let beforeRound = async () => {};
if (raw) {
  // The minimal server in its bare mode: it answers without reading the request.
  const server = await spawnTs(fileURLToPath(new URL("./lean-server-main.ts", import.meta.url)), {
    BARE: process.env.SERVER === "lean" ? "0" : "1",
    LATENCY_MS: "200",
  });
  url = server.readyLine.trim();
  serverPid = server.child.pid!;
  stopServer = async () => server.kill("SIGTERM");
} else {
  const mock = await MockProcess.start(
    process.env.MOCK_PROF
      ? ["--cpu-prof", "--cpu-prof-interval", "100", `--cpu-prof-dir=${process.env.MOCK_PROF}`]
      : [],
  );
  await mock.reset({ latencyMs: 200, strategy: "map-reduce", chunkChars: 10_000 });
  url = mock.url;
  serverPid = mock.pid!;
  stopServer = () => mock.stop();
  beforeRound = () => mock.reset({ latencyMs: 200, strategy: "map-reduce", chunkChars: 10_000 });
}

// When each request's head is written to its socket (the client writes it as a string).
const handedOver: number[] = [];
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function patchedWrite(this: net.Socket, ...args: unknown[]) {
  if (typeof args[0] === "string" && args[0].startsWith("POST ")) {
    handedOver.push(performance.now());
  }
  return (write as (...a: unknown[]) => boolean).apply(this, args);
} as typeof write;

const document = documentForChunks(100, 10_000);
const client = createOpenAIModelClient({ baseURL: url, apiKey: "k" });
const chunks = Array.from({ length: 50 }, (_, index) =>
  document.text.slice(index * 10_000, (index + 1) * 10_000),
);
/** user + system CPU of a process, in ms (clock ticks of 10 ms). */
const cpuOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
/** system CPU of a process, in ms. */
const systemOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[12]) * 10;

const modes = ["task per call", "one task"] as const;
const results = new Map<
  string,
  { last: number[]; clientMs: number; serverMs: number; serverSystemMs: number }
>();
for (let round = 0; round < rounds * modes.length; round += 1) {
  const mode = modes[round % modes.length]!;
  await beforeRound();
  handedOver.length = 0;
  const client0 = process.cpuUsage();
  const server0 = cpuOf(serverPid);
  const serverSystem0 = systemOf(serverPid);
  const t0 = performance.now();
  await Promise.all(
    chunks.map(async (chunk) => {
      if (mode === "task per call") await new Promise((resolve) => setImmediate(resolve));
      return client.complete({
        model: MOCK_MODELS.subModel,
        messages: subCallMessages(querySubject(document), chunk),
      });
    }),
  );
  const used = process.cpuUsage(client0);
  const entry = results.get(mode) ?? { last: [], clientMs: 0, serverMs: 0, serverSystemMs: 0 };
  entry.last.push(handedOver.at(-1)! - t0);
  entry.clientMs += (used.user + used.system) / 1000;
  entry.serverMs += cpuOf(serverPid) - server0;
  entry.serverSystemMs += systemOf(serverPid) - serverSystem0;
  results.set(mode, entry);
}
await stopServer();
for (const [mode, entry] of results) {
  const sorted = [...entry.last].sort((a, b) => a - b);
  const requests = rounds * chunks.length;
  console.log(
    `${raw ? "raw server" : "mock"}, ${mode}: 50th request written at ${sorted[sorted.length >> 1]!.toFixed(1)} ms (median of ${rounds}); CPU per request: client ${((entry.clientMs * 1000) / requests).toFixed(0)} µs, server ${((entry.serverMs * 1000) / requests).toFixed(0)} µs (system ${((entry.serverSystemMs * 1000) / requests).toFixed(0)})`,
  );
}
