import { createLlmQueue, createRootQueue } from "@rlm/queue";
import { expect } from "vitest";
import { makeDocument } from "./documents.js";
import { type queueTestbed, waitFor } from "./queue-testbed.js";
import { ANSWERED_BEFORE_KILL_MS } from "./worker-process.js";

/**
 * Queue end-to-end scenarios run on one Redis (queue-e2e.test.ts) and on a Redis Cluster
 * (cluster.test.ts) alike: the same checks whatever the Redis.
 */
type Bed = ReturnType<typeof queueTestbed>;

/**
 * 50 sub-calls over two worker processes: those the root's process has no call slot for
 * go to LM jobs of at most 5 calls, which the other takes; each call made once.
 */
export async function fanOutAcrossTwoWorkers(bed: Bed): Promise<void> {
  const document = makeDocument({ chars: 980_000, markerCount: 61, seed: 21 });
  bed.mock.configure({ chunkChars: 20_000 });
  // LM jobs of at most 5 calls; 20 call slots in each process.
  const [first, second] = await Promise.all([
    bed.worker({ TEST_BATCH_CALLS: "5" }),
    bed.worker({ TEST_BATCH_CALLS: "5" }),
  ]);
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
  expect(result.finishReason).toBe("final");
  expect(result.answer.trim()).toBe("61");
  const subCalls = bed.mock.requests().filter((request) => request.kind === "sub");
  expect(subCalls).toHaveLength(50);
  // Each call made once, here or there.
  expect(new Set(subCalls.map((request) => request.messagesHash)).size).toBe(50);
  const topology = { connection: bed.connection, prefix: bed.prefix };
  const llmQueue = createLlmQueue(topology);
  const rootQueue = createRootQueue(topology);
  const children = (await llmQueue.getJobs(["completed"], 0, 200)).filter(
    (job) => job.data.analysisId === id,
  );
  const root = await rootQueue.getJob(id);
  await llmQueue.close();
  await rootQueue.close();
  // The root's process made the calls it had slots for (20) itself; the others went to
  // LM jobs of at most 5 calls, each call in one job, answered once.
  const keys = children.flatMap((job) => job.data.calls.map((call) => call.journalKey));
  expect(keys.length).toBeGreaterThanOrEqual(30);
  expect(keys.length).toBeLessThan(50);
  expect(new Set(keys).size).toBe(keys.length);
  expect(Math.max(...children.map((job) => job.data.calls.length))).toBeLessThanOrEqual(5);
  expect(children.reduce((sum, job) => sum + (job.returnvalue?.answered ?? 0), 0)).toBe(
    keys.length,
  );
  // The process without the root took LM jobs: both made calls.
  const pids = [String(first.child.pid), String(second.child.pid)];
  const rootPid = root?.processedBy?.split(":").at(-1);
  expect(pids).toContain(rootPid);
  const processedBy = new Set(children.map((job) => job.processedBy?.split(":").at(-1)));
  expect(processedBy).toContain(pids.find((pid) => pid !== rootPid));
  expect(first.child.exitCode).toBeNull();
  expect(second.child.exitCode).toBeNull();
}

/**
 * SIGKILL of the worker after the first root call, twice during the fan-out, and while
 * the final root call is in flight: the same answer, and no call answered to a live
 * worker is made again. `thresholds`: answered requests before each kill of the first
 * three.
 */
export async function survivesSigkills(bed: Bed, thresholds = [1, 6, 14]): Promise<void> {
  const document = makeDocument({ chars: 400_000, markerCount: 29, seed: 8 });
  bed.mock.configure({ latencyMs: 150, chunkChars: 20_000 });
  let current = await bed.worker();
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  const kills: number[] = [];
  for (const threshold of thresholds) {
    await waitFor(
      () => bed.mock.requests().filter((request) => request.endedAt !== null).length >= threshold,
      30_000,
    );
    current.kill("SIGKILL");
    kills.push(Date.now());
    await current.exited;
    current = await bed.worker();
  }
  // And once while the final root model call is in flight.
  await waitFor(
    () =>
      bed.mock
        .requests()
        .some((r) => r.kind === "root" && r.endedAt === null && r.startedAt > kills.at(-1)!),
    30_000,
  );
  current.kill("SIGKILL");
  kills.push(Date.now());
  await current.exited;
  current = await bed.worker();
  const result = await bed.client.waitForResult(id, { timeoutMs: 90_000 });
  expect(result.answer.trim()).toBe("29");
  // A call answered to a live worker is never requested again. A call still in flight
  // when its worker died had not completed for it (the mock may finish it to a closed
  // socket), so it may be asked again; the margin covers the kill signal's delivery and
  // the worker's way to its journal write (ANSWERED_BEFORE_KILL_MS).
  const requests = bed.mock.requests();
  const answered = requests.filter((request) => {
    if (request.status !== 200 || request.endedAt === null) return false;
    const nextKill = kills.find((killedAt) => killedAt > request.startedAt);
    return nextKill === undefined || request.endedAt < nextKill - ANSWERED_BEFORE_KILL_MS;
  });
  const repeated = answered.filter((first) =>
    requests.some(
      (later) =>
        later.messagesHash === first.messagesHash && later.startedAt > (first.endedAt ?? 0),
    ),
  );
  expect(repeated).toEqual([]);
  // Progress survived the kills too: every sub-call counted once, started and done.
  const view = await bed.client.getAnalysis(id);
  const subCalls = result.replHistory.reduce((sum, cell) => sum + cell.subCalls, 0);
  expect(view?.progress.subCallsTotal).toBe(subCalls);
  expect(view?.progress.subCallsDone).toBe(subCalls);
  expect(requests.filter((request) => request.startedAt > kills[0]!).length).toBeGreaterThan(0);
}

/** Depth 2 with budgets: the nested analysis gets what is left of its parent's. */
export async function passesBudgetsDown(bed: Bed): Promise<void> {
  const document = makeDocument({ chars: 20_000, markerCount: 3, seed: 6 });
  bed.mock.configure({ chunkChars: 100_000 });
  await bed.worker();
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
    options: { maxDepth: 2, budgets: { maxSubCalls: 1 } },
  });
  const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
  // The root's one sub-call is the nested analysis; the nested one got 0 sub-calls to
  // spend, so no plain sub-call ever reached the model.
  expect(bed.mock.requests().filter((request) => request.kind === "sub")).toEqual([]);
  expect(bed.mock.requests().filter((request) => request.kind === "root").length).toBeGreaterThan(
    2,
  );
  expect(result.totalCalls).toBe(bed.mock.requests().length);
}

/** The same idempotency key gives the same analysis, enqueued once. */
export async function idempotencyKeyDeduplicates(bed: Bed): Promise<void> {
  const first = await bed.client.enqueueAnalysis({
    query: "q",
    context: "some text",
    idempotencyKey: "idem-1",
  });
  const second = await bed.client.enqueueAnalysis({
    query: "q",
    context: "some text",
    idempotencyKey: "idem-1",
  });
  expect(second.id).toBe(first.id);
  expect(second.deduplicated).toBe(true);
}

/** A cancel stops a running analysis and the sub-calls it issued. */
export async function cancelStopsRunning(bed: Bed): Promise<void> {
  const document = makeDocument({ chars: 400_000, markerCount: 5, seed: 9 });
  bed.mock.configure({ latencyMs: 400, chunkChars: 10_000 });
  await bed.worker({ TEST_LLM_CONCURRENCY: "2" });
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  await waitFor(() => bed.mock.requests().some((request) => request.kind === "sub"), 30_000);
  await bed.client.cancel(id);
  await expect(bed.client.waitForResult(id, { timeoutMs: 30_000 })).rejects.toMatchObject({
    code: "cancelled",
  });
  const subCallsAtCancel = bed.mock.requests().filter((request) => request.kind === "sub").length;
  expect(subCallsAtCancel).toBeLessThan(40);
}
