import { createLlmQueue, createRootQueue } from "@rlm/queue";
import { expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { inProcessWorkers } from "./support/in-process-workers.js";

// A cancel stops the sub-calls an analysis has already issued: calls waiting for a slot
// never reach the model and calls on the wire are dropped (real Redis, BullMQ, the mock
// over HTTP).
const bed = inProcessWorkers("cancel-sub-calls", {
  latencyMs: 300,
  strategy: "map-reduce",
  chunkChars: 20_000,
});

/** Resolves once `test` holds, polling; rejects after `timeoutMs`. */
async function until(test: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once no LM job of the bed is queued or running: no call can be made any more. */
async function untilLmJobsEnded(): Promise<void> {
  const llmQueue = createLlmQueue({ connection: bed.connection, prefix: bed.prefix });
  try {
    await until(async () => {
      const counts = await llmQueue.getJobCounts("active", "waiting", "delayed", "prioritized");
      return Object.values(counts).every((count) => count === 0);
    }, 10_000);
  } finally {
    await llmQueue.close();
  }
}

it("cancelling mid fan-out leaves the rest of its sub-calls unmade", async () => {
  // Ten call slots for 60 sub-calls of 300 ms: six waves, ~1.8 s if nothing stops them.
  await bed.worker({ concurrency: { root: 2, llm: 10 } });
  const document = makeDocument({ chars: 60 * 20_000 * 0.98, markerCount: 60, seed: 60 });
  const subRequests = () => bed.mock.requests().filter((request) => request.kind === "sub");
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  await until(() => subRequests().length > 0, 20_000);
  expect(await bed.client.cancel(id)).toBe("requested");
  await expect(bed.client.waitForResult(id, { timeoutMs: 20_000 })).rejects.toMatchObject({
    code: "cancelled",
  });
  // Once every LM job of the analysis has ended, no call can be made any more: count.
  await untilLmJobsEnded();
  await until(() => bed.mock.stats().inFlight === 0, 5_000);
  // At most the waves in flight when the cancel was seen, not the 60 of the fan-out.
  expect(subRequests().length).toBeLessThanOrEqual(40);
});

/**
 * Runs a 60-call fan-out under a token budget of 30,000 (each sub-call reads ~5,000
 * tokens: it is spent within the first wave) until every call has ended and the root job
 * completed in BullMQ; returns the result and how many sub-calls reached the model.
 */
async function budgetedFanOut(seed: number) {
  const document = makeDocument({ chars: 60 * 20_000 * 0.98, markerCount: 60, seed });
  const before = bed.mock.requests().length;
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
    options: { budgets: { maxTokens: 30_000 } },
  });
  const result = await bed.client.waitForResult(id, { timeoutMs: 20_000 });
  await untilLmJobsEnded();
  await until(() => bed.mock.stats().inFlight === 0, 5_000);
  // The root job completes once its children have ended (not failed, not retried).
  const rootQueue = createRootQueue({ connection: bed.connection, prefix: bed.prefix });
  try {
    await until(async () => (await rootQueue.getJobState(id)) === "completed", 15_000);
  } finally {
    await rootQueue.close();
  }
  const subCalls = bed.mock
    .requests()
    .slice(before)
    .filter((request) => request.kind === "sub").length;
  return { result, subCalls };
}

it("a token budget spent mid fan-out stops the analysis and the rest of its sub-calls", async () => {
  await bed.worker({ concurrency: { root: 2, llm: 10 } });
  const { result, subCalls } = await budgetedFanOut(61);
  expect(result.finishReason).toBe("budget");
  expect(result.error?.message).toMatch(/token budget/);
  // The first wave (10 slots) and not the 60 of the fan-out.
  expect(subCalls).toBeLessThanOrEqual(20);
});

it("a budget spent while the fan-out runs in another worker stops it there too", async () => {
  // Root and LM work in different workers: answers reach the root's run over Redis.
  await bed.worker({ roles: ["root"] });
  await bed.worker({ roles: ["llm"], concurrency: { llm: 10 } });
  const { result, subCalls } = await budgetedFanOut(62);
  expect(result.finishReason).toBe("budget");
  expect(subCalls).toBeLessThanOrEqual(30);
});
