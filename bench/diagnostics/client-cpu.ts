// Diagnostic: CPU of the model client per call against the bare client's (not part of
// npm run bench). Each round sends 100 sub-call prompts of 10,000 characters at C=50 to a
// responder that parses nothing (lean-server-main.ts with BARE=1, L ms): through
// `createOpenAIModelClient` (the openai SDK on undici) or through the bare client of
// figure 1's floor (plain node:http, support/bare-client.ts), alternately. Prints the
// median CPU per call (user + system of this process) and the median wall of a round.
// node --no-node-snapshot --import tsx bench/diagnostics/client-cpu.ts [rounds=30] [L=200]
import { fileURLToPath } from "node:url";
import { FifoGate, subCallMessages } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { BareClient } from "../support/bare-client.js";
import { documentForChunks, querySubject } from "../support/documents.js";
import { spawnTs } from "../support/spawn-ts.js";

const [rounds = 30, latencyMs = 200] = process.argv.slice(2).map(Number);
const CALLS = 100;
const CONCURRENCY = 50;
const server = await spawnTs(fileURLToPath(new URL("./lean-server-main.ts", import.meta.url)), {
  BARE: "1",
  LATENCY_MS: String(latencyMs),
});
const url = server.readyLine.trim();
const document = documentForChunks(CALLS, 10_000);
const query = querySubject(document);
const calls = Array.from({ length: CALLS }, (_, index) => ({
  model: "m",
  messages: subCallMessages(query, document.text.slice(index * 10_000, (index + 1) * 10_000)),
}));
const client = createOpenAIModelClient({ baseURL: url, apiKey: "k" });
const bare = new BareClient(url);
const paths: Record<string, () => Promise<unknown>> = {
  "openai SDK on undici": () => {
    const gate = new FifoGate(CONCURRENCY);
    return Promise.all(calls.map((call) => client.complete({ ...call, gate })));
  },
  "bare node:http": () =>
    bare.replay(
      [
        calls.map(({ model, messages }) => ({
          model,
          messages: messages.map(({ role, content }) => ({ role, content })),
        })),
      ],
      CONCURRENCY,
    ),
};
const results = new Map<string, { cpu: number[]; wall: number[] }>();
// ONLY=<a path's name>: that path alone (to profile it with --cpu-prof).
const names = Object.keys(paths).filter((name) => !process.env.ONLY || name === process.env.ONLY);
for (let round = 0; round < (rounds + 3) * names.length; round += 1) {
  const name = names[round % names.length]!;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await paths[name]!();
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  if (round < 3 * names.length) continue; // warm-ups
  const entry = results.get(name) ?? { cpu: [], wall: [] };
  entry.cpu.push((cpu.user + cpu.system) / CALLS);
  entry.wall.push(wall);
  results.set(name, entry);
}
bare.close();
server.kill("SIGTERM");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
for (const [name, entry] of results) {
  console.log(
    `${name}: CPU per call median ${median(entry.cpu).toFixed(0)} µs (min ${Math.min(...entry.cpu).toFixed(0)}); wall of ${CALLS} calls at C=${CONCURRENCY} median ${median(entry.wall).toFixed(1)} ms`,
  );
}
process.exit(0);
