import { createLlmQueue, createRootQueue } from "@rlm/queue";
import { describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { queueTestbed, waitFor } from "./support/queue-testbed.js";

// The queue path with real processes: real Redis, real BullMQ, worker processes that
// the tests start and kill, the mock LLM over HTTP.
const bed = queueTestbed("e2e", { latencyMs: 20, strategy: "map-reduce" });
const worker = bed.worker;

describe("queue path", () => {
  it("fans 50 sub-calls out across two worker processes: those the root's process has no slot for go to LM jobs, which the other takes", async () => {
    const document = makeDocument({ chars: 980_000, markerCount: 61, seed: 21 });
    bed.mock.configure({ chunkChars: 20_000 });
    // LM jobs of at most 5 calls; 20 call slots in each process.
    const [first, second] = await Promise.all([
      worker({ TEST_BATCH_CALLS: "5" }),
      worker({ TEST_BATCH_CALLS: "5" }),
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
    const connection = { host: "127.0.0.1", port: 6379 };
    const llmQueue = createLlmQueue({ connection, prefix: bed.prefix });
    const rootQueue = createRootQueue({ connection, prefix: bed.prefix });
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
  });

  it("survives SIGKILL of workers at several points with the same answer and no repeated call", async () => {
    const document = makeDocument({ chars: 400_000, markerCount: 29, seed: 8 });
    bed.mock.configure({ latencyMs: 150, chunkChars: 20_000 });
    let current = await worker();
    const { id } = await bed.client.enqueueAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
    });
    // Kill after the first root call, then during the fan-out, then again.
    const kills: number[] = [];
    for (const threshold of [1, 6, 14]) {
      await waitFor(
        () => bed.mock.requests().filter((request) => request.endedAt !== null).length >= threshold,
        30_000,
      );
      current.kill("SIGKILL");
      kills.push(Date.now());
      await current.exited;
      current = await worker();
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
    current = await worker();
    const result = await bed.client.waitForResult(id, { timeoutMs: 90_000 });
    expect(result.answer.trim()).toBe("29");
    // A call answered to a live worker is never requested again. A call still in flight
    // when its worker died had not completed for it (the mock may finish it to a closed
    // socket), so it may be asked again; the margin covers the kill signal's delivery.
    const requests = bed.mock.requests();
    const answered = requests.filter((request) => {
      if (request.status !== 200 || request.endedAt === null) return false;
      const nextKill = kills.find((killedAt) => killedAt > request.startedAt);
      return nextKill === undefined || request.endedAt < nextKill - 50;
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
  });

  it("depth 2 with every worker at concurrency 1 completes (no deadlock)", async () => {
    const document = makeDocument({ chars: 120_000, markerCount: 9, seed: 4 });
    bed.mock.configure({ chunkChars: 30_000 });
    await worker({ TEST_ROOT_CONCURRENCY: "1", TEST_LLM_CONCURRENCY: "1" });
    const { id } = await bed.client.enqueueAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
      options: { maxDepth: 2 },
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.answer.trim()).toBe("9");
    // Nested analyses ran as root conversations of their own.
    const roots = bed.mock.requests().filter((request) => request.kind === "root");
    expect(roots.length).toBeGreaterThan(3);
  });

  it("depth 2 passes what is left of the budgets down to the nested analysis", async () => {
    const document = makeDocument({ chars: 20_000, markerCount: 3, seed: 6 });
    bed.mock.configure({ chunkChars: 100_000 });
    await worker();
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
  });

  it("a failing child (400) reaches the model's code as a catchable error", async () => {
    const document = makeDocument({ chars: 100_000, markerCount: 3, seed: 2 });
    bed.mock.configure({
      chunkChars: 25_000,
      faults: { badRequestWhen: "Ticket INC-7731 was escalated" },
    });
    await worker();
    const { id } = await bed.client.enqueueAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    const fanOut = result.replHistory.find((cell) => cell.subCalls > 0);
    expect(fanOut?.error ?? fanOut?.output).toMatch(/bad_request/);
    expect(["final", "max_iterations"]).toContain(result.finishReason);
  });

  it("idempotency key returns the same analysis", async () => {
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
  });

  it("cancel stops a running analysis and its children", async () => {
    const document = makeDocument({ chars: 400_000, markerCount: 5, seed: 9 });
    bed.mock.configure({ latencyMs: 400, chunkChars: 10_000 });
    await worker({ TEST_LLM_CONCURRENCY: "2" });
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
  });
});
