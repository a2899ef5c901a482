import { createRootQueue, type RootQueue } from "@rlm/queue";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { inProcessWorkers } from "./support/in-process-workers.js";
import { isRoot, repl, ScriptedModel, turnOf } from "./support/scripted-model.js";

// A worker whose lock on a root job cannot be renewed (the process was stalled past it,
// or Redis lost the key) must stop that job's run: BullMQ hands the job to the next
// worker, and two runs of one analysis pay for the same model calls. Real Redis, real
// BullMQ; the lapse is injected by deleting the job's lock key, as a lock that expired.
const bed = inProcessWorkers("lock-lost", { latencyMs: 5 });
const { connection, prefix } = bed;
let rootQueue: RootQueue;
let redis: Redis;

beforeAll(() => {
  rootQueue = createRootQueue({ connection, prefix });
  redis = new Redis(connection);
});

afterAll(async () => {
  await rootQueue.close();
  redis.disconnect();
});

/**
 * A worker whose root model is `root`, with short locks (renewed every 500 ms, a stalled
 * job found within 300 ms); returns the ids of the jobs it reports it lost the lock of.
 */
async function workerLosingLocks(root: ScriptedModel): Promise<string[]> {
  const lost: string[] = [];
  await bed.worker({
    rootModelClient: root,
    lockDurationMs: 1_000,
    stalledIntervalMs: 300,
    observe: (observation) => {
      if (observation.type === "lock_lost") lost.push(observation.jobId);
    },
  });
  return lost;
}

/** The lock of root job `id` lapses (its key is gone, as when it expired). */
async function loseLock(id: string): Promise<void> {
  expect(await redis.del(rootQueue.toKey(`${id}:lock`))).toBe(1);
}

/** Sub-call requests the mock has had. */
function subRequestCount(): number {
  return bed.mock.requests().filter((request) => request.kind === "sub").length;
}

it("a run whose job lock is lost stops its model call and records nothing; the job's next run ends the analysis", async () => {
  // The root calls asked and aborted, in order.
  const seen: string[] = [];
  const root = new ScriptedModel((request, index) => {
    if (!isRoot(request)) return "unused";
    seen.push("asked");
    if (index > 0) return "FINAL(done)";
    // The first run's first turn: the model is slow; only an abort ends it.
    return new Promise<string>((_resolve, reject) => {
      request.signal?.addEventListener(
        "abort",
        () => {
          seen.push("aborted");
          reject(request.signal?.reason);
        },
        { once: true },
      );
    });
  });
  const lost = await workerLosingLocks(root);
  const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "some text" });
  while (root.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

  const lostAt = Date.now();
  await loseLock(id);
  const result = await bed.client.waitForResult(id, { timeoutMs: 20_000 });
  expect(result.finishReason).toBe("final");
  expect(result.answer).toBe("done");
  // Stopped at the next renewal (every half lock), before the job's next run asked:
  // not left to run on until the analysis ended (which stops every run of it).
  expect(seen).toEqual(["asked", "aborted", "asked"]);
  expect(lost).toEqual([id]);
  expect(Date.now() - lostAt).toBeLessThan(15_000);
  // The job completed once, from its second run.
  const job = await rootQueue.getJob(id);
  expect(await job?.getState()).toBe("completed");
  expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
});

it("a run that loses its lock while a cell waits for a sub-call journals nothing of that cell; the next run replays it with the answer", async () => {
  // The sub-call (through the mock, as an LM job) is slow: the lock goes while it runs.
  bed.mock.configure({ latencyMs: 1_500 });
  const root = new ScriptedModel((request) => {
    if (!isRoot(request)) return "unused";
    if (turnOf(request) === 1)
      return repl("const got = await recursiveLm('Say hello', 'some text')\nprint(got)");
    // The answer is what the cell printed: an error journaled for the cell would show.
    const output = request.messages.at(-1)?.content ?? "";
    return `FINAL(${output.includes("Error") ? "the cell failed" : "printed"})`;
  });
  const lost = await workerLosingLocks(root);
  const subsBefore = subRequestCount();
  const { id } = await bed.client.enqueueAnalysis({ query: "q", context: "some text" });
  try {
    // The cell is waiting for its sub-call once the mock has it.
    while (subRequestCount() === subsBefore) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await loseLock(id);
    const result = await bed.client.waitForResult(id, { timeoutMs: 20_000 });
    expect(lost).toEqual([id]);
    expect(result.finishReason).toBe("final");
    expect(result.answer).toBe("printed");
    // The sub-call was made once: the next run waited for its job and replayed its answer.
    expect(subRequestCount() - subsBefore).toBe(1);
    // Turn 1 was journaled before the lock went: asked once; turn 2 once.
    expect(root.requests.filter(isRoot)).toHaveLength(2);
  } finally {
    bed.mock.configure({ latencyMs: 5 });
  }
});
