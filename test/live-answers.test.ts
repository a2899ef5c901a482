import { createRootQueue, type RlmWorkerOptions } from "@rlm/queue";
import { Queue } from "bullmq";
import { expect, it } from "vitest";
import { inProcessWorkers } from "./support/in-process-workers.js";
import { ScriptedModel, turnOf } from "./support/scripted-model.js";

// Workers in this process (real Redis, real BullMQ, the mock over HTTP), so their
// statistics can be read directly.
const bed = inProcessWorkers("live-answers", {
  latencyMs: 20,
  strategy: "map-reduce",
  chunkChars: 20_000,
});
const { connection, prefix } = bed;
const worker = (options: Partial<RlmWorkerOptions> = {}) => bed.worker(options);

/** Runs one map-reduce analysis; returns its sub-call count and how often its job started. */
async function analysis(markerCount: number) {
  const { id, subRequests } = await bed.mapReduce(markerCount);
  const rootQueue = createRootQueue({ connection, prefix });
  const job = await rootQueue.getJob(id);
  await rootQueue.close();
  return { subCalls: subRequests.length, attemptsStarted: job?.attemptsStarted ?? -1 };
}

it("keeps the root job's slot while its children are answered in the same process", async () => {
  const both = await worker();
  const { subCalls, attemptsStarted } = await analysis(23);
  expect(subCalls).toBeGreaterThan(10);
  // Every answer reached the cell as it was journaled, and the job never went through
  // waiting-children: it started once and ran to its end.
  const stats = both.liveRunStats();
  expect(stats.liveAnswers).toBe(subCalls);
  expect(attemptsStarted).toBe(1);
  expect(stats.hits).toBe(0);
});

it("gives the slot up (waiting-children) when the children run in another worker; their answers still reach the run as they come", async () => {
  const roots = await worker({ roles: ["root"] });
  await worker({ roles: ["llm"] });
  const { subCalls, attemptsStarted } = await analysis(17);
  expect(subCalls).toBeGreaterThan(10);
  // Over Redis (RedisCallResults): some may come before the run listens, none twice.
  expect(roots.liveRunStats().liveAnswers).toBeGreaterThan(0);
  expect(roots.liveRunStats().liveAnswers).toBeLessThanOrEqual(subCalls);
  // Resumed by BullMQ after its children, in the same process: the live REPL went on.
  expect(attemptsStarted).toBeGreaterThan(1);
  expect(roots.liveRunStats().hits).toBeGreaterThan(0);
});

it("gives held slots up when every root slot is taken, so all analyses finish", async () => {
  await worker({ concurrency: { root: 2, llm: 8 } });
  const results = await Promise.all([analysis(5), analysis(6), analysis(7), analysis(8)]);
  for (const { subCalls } of results) expect(subCalls).toBeGreaterThan(10);
});

it("a call the cell issues while its root keeps the slot is answered even when its job is slow to add", async () => {
  // Fault injection on real BullMQ: the add of the LM job carrying call "b" takes 80 ms,
  // as on a busy Redis. The hold gives the slot up meanwhile; the run must still wait
  // for "b" instead of failing it as a lost child.
  const originalAdd = Queue.prototype.add;
  Queue.prototype.add = async function add(this: Queue, ...args: Parameters<Queue["add"]>) {
    const calls = (args[1] as { calls?: Array<{ query: string }> } | undefined)?.calls;
    if (calls?.some((call) => call.query === "b")) await new Promise((r) => setTimeout(r, 80));
    return originalAdd.apply(this, args);
  } as Queue["add"];
  try {
    const code = [
      "```js",
      'const slow = recursiveLm("slow");',
      'const a = await recursiveLm("a");',
      'let b; try { b = await recursiveLm("b"); } catch (error) { b = "ERR " + error.message; }',
      "const s = await slow;",
      'print(a + "|" + b + "|" + s);',
      "```",
    ].join("\n");
    const delays: Record<string, number> = { a: 10, slow: 14, b: 1 };
    const root = new ScriptedModel((request) => (turnOf(request) === 1 ? code : "FINAL(done)"));
    const sub = new ScriptedModel(async (request) => {
      const query = (request.messages.at(-1)?.content ?? "").split("\n")[0]!.trim();
      await new Promise((r) => setTimeout(r, delays[query] ?? 1));
      return query.toUpperCase();
    });
    await worker({
      rootModelClient: root,
      llmModelClient: sub,
      batching: { maxCalls: 1, maxWaitMs: 1 },
    });
    const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "doc" });
    const result = await bed.client.waitForResult(id, { timeoutMs: 30_000 });
    expect(result.finishReason).toBe("final");
    expect(result.replHistory[0]?.output).toBe("A|B|SLOW");
  } finally {
    Queue.prototype.add = originalAdd;
  }
});
