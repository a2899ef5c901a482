import { createRootQueue, type RlmWorkerOptions } from "@rlm/queue";
import { Queue } from "bullmq";
import { expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { inProcessWorkers } from "./support/in-process-workers.js";
import { ScriptedModel, turnOf } from "./support/scripted-model.js";

// The two ways an answer reaches a cell: live (the same process, or the analysis's Redis
// channel) while the run keeps its job's slot, or by replay from the journal in a run
// rebuilt after its job gave the slot up. Workers in this process (real Redis, real
// BullMQ, the mock over HTTP), so their statistics can be read directly.
const bed = inProcessWorkers("ways-back", {
  latencyMs: 20,
  strategy: "map-reduce",
  chunkChars: 20_000,
});
const { connection, prefix } = bed;
const worker = (options: Partial<RlmWorkerOptions> = {}) => bed.worker(options);

/** How often the root job of `id` was started. */
async function startsOf(id: string): Promise<number> {
  const rootQueue = createRootQueue({ connection, prefix });
  try {
    return (await rootQueue.getJob(id))?.attemptsStarted ?? -1;
  } finally {
    await rootQueue.close();
  }
}

it("answers from another worker reach the run live over Redis: it keeps its slot, its job starts once", async () => {
  const roots = await worker({ roles: ["root"] });
  await worker({ roles: ["llm"] });
  const { id, subRequests } = await bed.mapReduce(17);
  expect(subRequests.length).toBeGreaterThan(10);
  expect(roots.runStats()).toMatchObject({
    liveAnswers: subRequests.length,
    callsHere: 0,
    rebuilt: 0,
    parked: 0,
  });
  expect(await startsOf(id)).toBe(1);
});

it("a run waiting for nested analyses gives its job up when every job slot is taken, and is rebuilt by replay", async () => {
  // One step slot: 8 root jobs at once, fewer than the 12 nested analyses of the fan-out.
  const both = await worker({ concurrency: { root: 1, llm: 4 } });
  const document = makeDocument({ chars: 120_000, markerCount: 9, seed: 4 });
  bed.mock.configure({ chunkChars: 10_000 });
  try {
    const enqueuedAt = Date.now();
    const { id } = await bed.client.enqueueAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
      options: { maxDepth: 2 },
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    const wall = Date.now() - enqueuedAt;
    expect(result.answer.trim()).toBe("9");
    const stats = both.runStats();
    expect(stats.parked).toBeGreaterThan(0);
    expect(stats.rebuilt).toBeGreaterThan(0);
    // The replay made no model call twice: each sub-call's prompt reached the mock once.
    const subs = bed.mock.requests().filter((request) => request.kind === "sub");
    expect(new Set(subs.map((request) => request.messagesHash)).size).toBe(subs.length);
    // Its duration is the whole analysis's, from its enqueue across its runs, not the
    // last run's part (which began after the nested analyses had all ended).
    expect(result.durationMs).toBeLessThanOrEqual(wall);
    expect(result.durationMs).toBeGreaterThanOrEqual(wall - 100);
  } finally {
    bed.mock.configure({ chunkChars: 20_000 });
  }
});

it("every analysis finishes when there are more analyses than step slots", async () => {
  await worker({ concurrency: { root: 2, llm: 8 } });
  const results = await Promise.all([5, 6, 7, 8].map((markers) => bed.mapReduce(markers)));
  for (const { subRequests } of results) expect(subRequests.length).toBeGreaterThan(10);
});

it("a call the cell issues while its run waits is answered even when its job is slow to add", async () => {
  // Fault injection on real BullMQ: the add of the LM job carrying call "b" takes 80 ms,
  // as on a busy Redis. The run must wait for "b" instead of failing it as a lost child.
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
      // Every call through the queue, as LM jobs.
      eagerDispatch: false,
    });
    const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "doc" });
    const result = await bed.client.waitForResult(id, { timeoutMs: 30_000 });
    expect(result.finishReason).toBe("final");
    expect(result.replHistory[0]?.output).toBe("A|B|SLOW");
  } finally {
    Queue.prototype.add = originalAdd;
  }
});

it("a run waiting on slow child jobs past parkAfterMs gives its job up, and is rebuilt by replay with no call made twice", async () => {
  const code = [
    "```js",
    'const answers = await Promise.all(["a", "b", "c"].map((q) => recursiveLm(q)));',
    'print(answers.join("|"));',
    "```",
  ].join("\n");
  const root = new ScriptedModel((request) => (turnOf(request) === 1 ? code : "FINAL(done)"));
  const sub = new ScriptedModel(async (request) => {
    const query = (request.messages.at(-1)?.content ?? "").split("\n")[0]!.trim();
    // Well past the hold: the run must have given its job up before any answer.
    await new Promise((resolve) => setTimeout(resolve, 700));
    return query.toUpperCase();
  });
  // Every call in another process: the root's run waits for child jobs only.
  const roots = await worker({ roles: ["root"], rootModelClient: root, parkAfterMs: 150 });
  await worker({ roles: ["llm"], llmModelClient: sub });
  const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "doc" });
  const result = await bed.client.waitForResult(id, { timeoutMs: 30_000 });
  expect(result.finishReason).toBe("final");
  expect(result.replHistory[0]?.output).toBe("A|B|C");
  expect(roots.runStats()).toMatchObject({ parked: 1, rebuilt: 1, liveAnswers: 0 });
  expect(await startsOf(id)).toBe(2);
  // The replay asked neither model again: two root turns, one call per sub-call.
  expect(root.requests).toHaveLength(2);
  expect(
    sub.requests.map((request) => request.messages.at(-1)?.content.split("\n")[0]).sort(),
  ).toEqual(["a", "b", "c"]);
});

it("a worker refuses a parkAfterMs that is not a number of ms", async () => {
  await expect(worker({ parkAfterMs: -1 })).rejects.toMatchObject({
    code: "invalid_options",
    message: expect.stringContaining("parkAfterMs"),
  });
});
