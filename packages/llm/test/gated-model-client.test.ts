import {
  BudgetExceededError,
  type ConcurrencyGate,
  callModelWithin,
  FifoGate,
  RunControl,
  subCallMessages,
} from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { maxOverlap } from "../../../test/support/documents.js";
import { createOpenAIModelClient, ModelCallError } from "../src/index.js";

// Real HTTP against the mock LLM: what the gate bounds is what the server sees.
let mock: MockLlmServer;

beforeEach(async () => {
  mock = await startMockLlmServer({ latencyMs: 100 });
});

afterEach(async () => {
  await mock.stop();
});

function client(timeoutMs = 10_000) {
  return createOpenAIModelClient({
    apiKey: "test-key",
    baseURL: mock.url,
    timeoutMs,
    retry: { maxAttempts: 1 },
  });
}

const request = (index: number) => ({
  model: "mock-sub",
  messages: subCallMessages(`question ${index}`, `text ${index}`),
});

/** A gate that counts how many callers wait for it at most. */
function countingGate(size: number): { gate: ConcurrencyGate; maxWaiting: () => number } {
  const inner = new FifoGate(size);
  let waiting = 0;
  let maxWaiting = 0;
  return {
    gate: {
      async acquire(signal) {
        waiting += 1;
        maxWaiting = Math.max(maxWaiting, waiting);
        try {
          return await inner.acquire(signal);
        } finally {
          waiting -= 1;
        }
      },
    },
    maxWaiting: () => maxWaiting,
  };
}

/** The most requests the mock had open at any one time. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("createOpenAIModelClient with a gate", () => {
  it("says it honours gates", () => {
    expect(client().honoursGate).toBe(true);
  });

  it("keeps at most C requests at the server while more calls are inside complete()", async () => {
    const model = client();
    const { gate, maxWaiting } = countingGate(3);
    const answers = await Promise.all(
      Array.from({ length: 9 }, (_unused, index) => model.complete({ ...request(index), gate })),
    );

    expect(answers).toHaveLength(9);
    const records = mock.requests();
    expect(records).toHaveLength(9);
    expect(maxOverlap(records)).toBe(3);
    // The other six were built and waiting for a slot, not waiting to be built.
    expect(maxWaiting()).toBeGreaterThanOrEqual(6);
  });

  it("frees the slot when the response arrives: the next request starts right after", async () => {
    const model = client();
    const gate = new FifoGate(1);
    await Promise.all([
      model.complete({ ...request(1), gate }),
      model.complete({ ...request(2), gate }),
    ]);

    const [first, second] = mock.requests();
    expect(first!.endedAt).not.toBeNull();
    const gapMs = second!.startedAt - first!.endedAt!;
    expect(gapMs).toBeGreaterThanOrEqual(0);
    // Only the write and the server reading the body lie between them.
    expect(gapMs).toBeLessThan(25);
    expect(gate.inUse).toBe(0);
  });

  it("gives the slot back from the transport, as the answer arrives, before the SDK reads it", async () => {
    const model = client();
    const inner = new FifoGate(1);
    const releasedFrom: string[] = [];
    const gate: ConcurrencyGate = {
      async acquire(signal) {
        const release = await inner.acquire(signal);
        return () => {
          releasedFrom.push(new Error("released").stack ?? "");
          release();
        };
      },
    };
    await model.complete({ ...request(1), gate });
    // The first release is the transport's (fetch-handler.ts); the attempt's own, after the
    // answer was read, finds the slot already given back.
    expect(releasedFrom[0]).toContain("fetch-handler");
    expect(inner.inUse).toBe(0);
  });

  it("rejects a call cancelled while it waits for a slot with `cancelled`, at once", async () => {
    const model = client();
    const gate = new FifoGate(1);
    const holder = model.complete({ ...request(1), gate });
    const controller = new AbortController();
    const waiting = model.complete({ ...request(2), gate, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const abortedAt = performance.now();
    controller.abort();
    const error = await failure(waiting);
    expect(performance.now() - abortedAt).toBeLessThan(20);
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error).toMatchObject({ code: "cancelled", retryable: false });

    await holder;
    expect(mock.requests()).toHaveLength(1);
    expect(gate.inUse).toBe(0);
  });

  it("does not count the wait for a slot against the attempt timeout", async () => {
    // Each exchange takes ~150 ms, under the 300 ms timeout; the third call waits ~300 ms
    // for its slot first, so it would time out if the wait counted.
    mock.configure({ latencyMs: 150 });
    const model = client(300);
    const gate = new FifoGate(1);
    const answers = await Promise.all(
      [1, 2, 3].map((index) => model.complete({ ...request(index), gate })),
    );
    expect(answers.map((answer) => answer.content.length > 0)).toEqual([true, true, true]);
    expect(mock.requests()).toHaveLength(3);
  });

  it("still times out an exchange slower than the timeout, and frees its slot", async () => {
    mock.configure({ latencyMs: 400 });
    const model = client(150);
    const gate = new FifoGate(1);
    const error = await failure(model.complete({ ...request(1), gate }));
    expect(error).toMatchObject({ code: "timeout", retryable: true });
    expect(gate.inUse).toBe(0);
  });

  it("frees the slot after an error status", async () => {
    mock.configure({ latencyMs: 0, faults: { badRequestWhen: "question 1" } });
    const model = client();
    const gate = new FifoGate(1);
    const error = await failure(model.complete({ ...request(1), gate }));
    expect(error).toMatchObject({ code: "bad_request" });
    expect(gate.inUse).toBe(0);
    await model.complete({ ...request(2), gate });
  });

  it("frees the slot when the server cannot be reached", async () => {
    const url = mock.url;
    await mock.stop();
    const model = createOpenAIModelClient({
      apiKey: "k",
      baseURL: url,
      retry: { maxAttempts: 1 },
    });
    const gate = new FifoGate(1);
    const error = await failure(model.complete({ ...request(1), gate }));
    expect(error).toMatchObject({ code: "connection_failed" });
    expect(gate.inUse).toBe(0);
    mock = await startMockLlmServer();
  });
});

describe("callModelWithin with a gate-honouring client", () => {
  it("checks the budget when a queued call gets its slot, and fails it with the budget's error", async () => {
    // Every answer costs more tokens than the budget: once one is counted, the calls
    // queued behind it must not reach the server. The slot passes on as the first answer
    // arrives, before that answer is parsed and counted, so the second call still goes
    // out (a budget may be overshot by the calls in flight, C here); no other does.
    const control = new RunControl({ budgets: { maxTokens: 5 }, concurrency: 1 });
    const model = client();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_unused, index) =>
        callModelWithin(control, model, { ...request(index), signal: control.signal }).then(
          (response) => {
            control.usage.record(response.model, response.usage);
            return response;
          },
        ),
      ),
    );
    control.dispose();

    expect(mock.requests()).toHaveLength(2);
    expect(outcomes.slice(0, 2).map((outcome) => outcome.status)).toEqual([
      "fulfilled",
      "fulfilled",
    ]);
    for (const outcome of outcomes.slice(2)) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason as unknown;
      // The engine's own error, not the SDK's connection error wrapping it.
      expect(reason).toBeInstanceOf(BudgetExceededError);
      expect(reason).toMatchObject({ code: "budget_exceeded", budget: "maxTokens" });
    }
  });

  it("lets no more sub-calls than maxSubCalls reach the server, however many are queued", async () => {
    const control = new RunControl({ budgets: { maxSubCalls: 3 }, concurrency: 1 });
    const model = client();
    // As the engine does: a sub-call is counted when the code asks for it.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, async (_unused, index) => {
        control.reserveSubCall();
        return callModelWithin(control, model, { ...request(index), signal: control.signal });
      }),
    );
    control.dispose();
    // The fourth request spends the budget, which ends the analysis: calls still waiting
    // for a slot are refused when they would get it, so none of them is sent.
    expect(mock.requests().length).toBeLessThanOrEqual(3);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const outcome of refused) {
      expect(outcome.reason).toBeInstanceOf(BudgetExceededError);
      expect(outcome.reason).toMatchObject({ budget: "maxSubCalls" });
    }
  });

  it("bounds requests at the server by the run's concurrency", async () => {
    const control = new RunControl({ budgets: {}, concurrency: 4 });
    const model = client();
    await Promise.all(
      Array.from({ length: 12 }, (_unused, index) =>
        callModelWithin(control, model, { ...request(index), signal: control.signal }),
      ),
    );
    control.dispose();
    expect(mock.requests()).toHaveLength(12);
    expect(maxOverlap(mock.requests())).toBe(4);
    expect(control.gate.inUse).toBe(0);
    expect(control.pending.inUse).toBe(0);
  });

  it("keeps the old path for a client that does not honour gates", async () => {
    const control = new RunControl({ budgets: {}, concurrency: 2 });
    const seen: Array<ConcurrencyGate | undefined> = [];
    let inside = 0;
    let mostInside = 0;
    const model = {
      async complete(req: Parameters<typeof callModelWithin>[2]) {
        seen.push(req.gate);
        inside += 1;
        mostInside = Math.max(mostInside, inside);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inside -= 1;
        return {
          content: "ok",
          model: "m",
          usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
          durationMs: 10,
        };
      },
    };
    await Promise.all(
      Array.from({ length: 6 }, (_unused, index) =>
        callModelWithin(control, model, request(index)),
      ),
    );
    control.dispose();
    expect(seen.every((gate) => gate === undefined)).toBe(true);
    expect(mostInside).toBe(2);
  });
});
