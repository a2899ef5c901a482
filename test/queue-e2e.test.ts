import { describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import {
  cancelStopsRunning,
  fanOutAcrossTwoWorkers,
  idempotencyKeyDeduplicates,
  passesBudgetsDown,
  survivesSigkills,
} from "./support/queue-scenarios.js";
import { queueTestbed } from "./support/queue-testbed.js";

// The queue path with real processes: real Redis, real BullMQ, worker processes that
// the tests start and kill, the mock LLM over HTTP.
const bed = queueTestbed("e2e", { latencyMs: 20, strategy: "map-reduce" });
const worker = bed.worker;

describe("queue path", () => {
  it("fans 50 sub-calls out across two worker processes: those the root's process has no slot for go to LM jobs, which the other takes", async () => {
    await fanOutAcrossTwoWorkers(bed);
  });

  it("survives SIGKILL of workers at several points with the same answer and no repeated call", async () => {
    await survivesSigkills(bed);
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
    await passesBudgetsDown(bed);
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
    await idempotencyKeyDeduplicates(bed);
  });

  it("cancel stops a running analysis and its children", async () => {
    await cancelStopsRunning(bed);
  });
});
