import { subCallMessages } from "@rlm/core";
import { createLlmQueue, type LlmJobData, type RlmWorkerOptions } from "@rlm/queue";
import { expect, it } from "vitest";
import { ScriptedModel, turnOf } from "./support/scripted-model.js";
import { inProcessWorkers } from "./support/in-process-workers.js";

// Plain calls run in the root's process while it has call slots free; the others become
// LM jobs that any worker with a slot free takes. Workers in this process (real Redis,
// real BullMQ, the mock over HTTP).
const bed = inProcessWorkers("local-calls", {
  latencyMs: 30,
  strategy: "map-reduce",
  chunkChars: 20_000,
});
const { connection, prefix } = bed;
const worker = (name: string, options: Partial<RlmWorkerOptions> = {}) =>
  bed.worker({ name, ...options });

const analysis = (markerCount: number) => bed.mapReduce(markerCount);

/** The LM jobs of an analysis, in any state. */
async function lmJobsOf(analysisId: string) {
  const queue = createLlmQueue({ connection, prefix });
  try {
    const jobs = await queue.getJobs(["completed", "failed", "active", "waiting", "delayed"]);
    const mine = jobs.filter((job) => (job.data as LlmJobData).analysisId === analysisId);
    return await Promise.all(
      mine.map(async (job) => ({
        state: await job.getState(),
        processedBy: job.processedBy,
        parentId: job.parent?.id,
        calls: (job.data as LlmJobData).calls.length,
        answered: (job.returnvalue as { answered?: number } | null)?.answered ?? 0,
      })),
    );
  } finally {
    await queue.close();
  }
}

it("makes the calls its slots allow in the root's process, with no LM job, each once", async () => {
  const both = await worker("local-both");
  const { id, subRequests } = await analysis(19);
  expect(subRequests.length).toBeGreaterThan(10);
  expect(both.runStats().callsHere).toBe(subRequests.length);
  expect(await lmJobsOf(id)).toEqual([]);
  expect(new Set(subRequests.map((request) => request.messagesHash)).size).toBe(subRequests.length);
});

it("sends the calls its slots do not allow to LM jobs, children of the root, which another worker takes", async () => {
  // Two call slots here: most of the fan-out must go through the queue.
  const small = await worker("local-small", { concurrency: { llm: 2 } });
  await worker("llm-only", { roles: ["llm"], concurrency: { llm: 32 } });
  const { id, subRequests } = await analysis(29);
  expect(subRequests.length).toBeGreaterThan(10);

  const jobs = await lmJobsOf(id);
  const here = small.runStats().callsHere;
  expect(here).toBeGreaterThan(0);
  expect(jobs.filter((job) => job.processedBy === "llm-only").length).toBeGreaterThan(0);
  for (const job of jobs) expect(job).toMatchObject({ state: "completed", parentId: id });
  // No call paid twice, whichever way it went.
  const answered = jobs.reduce((sum, job) => sum + job.answered, 0);
  expect(answered + here).toBe(subRequests.length);
  expect(new Set(subRequests.map((request) => request.messagesHash)).size).toBe(subRequests.length);
});

it("a worker with one call slot takes its next LM job with the completion of the last", async () => {
  await worker("chain-root", { concurrency: { llm: 1 } });
  const single = await worker("chain-llm", { roles: ["llm"], concurrency: { llm: 1 } });
  const { id, subRequests } = await analysis(29);
  const jobs = await lmJobsOf(id);
  expect(jobs.length).toBeGreaterThan(10);
  for (const job of jobs) expect(job.state).toBe("completed");
  const { llmJobsTaken, llmJobsChained } = single.runStats();
  expect(llmJobsTaken).toBeGreaterThan(5);
  // BullMQ's fetchNext: after its first job, most of this worker's jobs came that way.
  expect(llmJobsChained).toBeGreaterThanOrEqual(llmJobsTaken / 2);
  expect(new Set(subRequests.map((request) => request.messagesHash)).size).toBe(subRequests.length);
});

it("a call made here sends the prompt the queue would send, with or without a context", async () => {
  const code = [
    "```js",
    'const bare = await recursiveLm("no context");',
    'const withJson = await recursiveLm("json context", { a: [1, 2] });',
    'const withText = await recursiveLm("text context", "some text");',
    'print(bare + "|" + withJson + "|" + withText);',
    "```",
  ].join("\n");
  const prompts = new Map<string, string[]>();
  const root = new ScriptedModel((request) => (turnOf(request) === 1 ? code : "FINAL(done)"));
  const sub = new ScriptedModel((request) => {
    const contents = request.messages.map((message) => message.content);
    const query = (contents.at(-1) ?? "").split("\n")[0]!.trim();
    prompts.set(query, contents);
    return query.toUpperCase();
  });
  const both = await worker("local-prompts", { rootModelClient: root, llmModelClient: sub });
  const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "doc" });
  const result = await bed.client.waitForResult(id, { timeoutMs: 30_000 });
  expect(result.replHistory[0]?.output).toBe("NO CONTEXT|JSON CONTEXT|TEXT CONTEXT");
  expect(both.runStats().callsHere).toBe(3);
  expect(prompts.get("no context")).toEqual(
    subCallMessages("no context", undefined).map((message) => message.content),
  );
  expect(prompts.get("json context")).toEqual(
    subCallMessages("json context", JSON.stringify({ a: [1, 2] })).map((m) => m.content),
  );
  expect(prompts.get("text context")).toEqual(
    subCallMessages("text context", "some text").map((message) => message.content),
  );
});
