import { RlmError } from "@rlm/core";
import { ContextStore, RlmQueueClient, type RlmWorker, startRlmWorker } from "@rlm/queue";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { deleteKeys, uniquePrefix } from "./support/redis-prefix.js";
import { ScriptedModel, turnOf } from "./support/scripted-model.js";

// The first root call of a run leaves while its document is read (DeferredContext):
// real Redis, real BullMQ, a worker in this process; the read is slowed down by fault
// injection on the real ContextStore, as a large document's read would be.
const prefix = uniquePrefix("deferred");
const connection = { host: "127.0.0.1", port: 6379 };
let client: RlmQueueClient;
const workers: RlmWorker[] = [];

beforeAll(() => {
  client = new RlmQueueClient({ connection, prefix });
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.close({ timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await deleteKeys(prefix);
});

it("sends the first root call before the document is read, and its cells still see all of it", async () => {
  const reads: Array<{ startedAt: number; endedAt?: number }> = [];
  const originalRead = ContextStore.prototype.readDocument;
  ContextStore.prototype.readDocument = async function readDocument(
    this: ContextStore,
    ...args: Parameters<ContextStore["readDocument"]>
  ) {
    const read = { startedAt: Date.now() } as { startedAt: number; endedAt?: number };
    reads.push(read);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const source = await originalRead.apply(this, args);
    read.endedAt = Date.now();
    return source;
  };
  try {
    const text = `${"é".repeat(3_000)}${"middle ".repeat(2_000)}😀 the end`;
    const firstCallAt: number[] = [];
    const prompts: string[] = [];
    const root = new ScriptedModel((request) => {
      if (turnOf(request) === 1) {
        firstCallAt.push(Date.now());
        prompts.push(request.messages.at(-1)?.content ?? "");
        return "```js\nprint(context.length + ' ' + context.slice(-7))\n```";
      }
      return "FINAL(done)";
    });
    workers.push(
      await startRlmWorker({ connection, prefix, rootModelClient: root, llmModelClient: root }),
    );
    const { id } = await client.enqueueAnalysis({ query: "How long is it?", context: text });
    const result = await client.waitForResult(id, { timeoutMs: 30_000 });
    expect(result.finishReason).toBe("final");
    // The cell ran over the whole document, loaded by then.
    expect(result.replHistory[0]?.output).toBe(`${text.length} the end`);
    expect(reads).toHaveLength(1);
    // The first root call did not wait for the read.
    expect(firstCallAt[0]).toBeLessThan(reads[0]!.endedAt!);
    // Its prompt tells the model the context's length and both ends, as when read whole.
    expect(prompts[0]).toContain(text.length.toLocaleString("en-US"));
    expect(prompts[0]).toContain("😀 the end");
  } finally {
    ContextStore.prototype.readDocument = originalRead;
  }
});

/** Replaces `ContextStore.readDocument` while `run` runs; `fault` decides each read. */
async function withReadFault<T>(
  fault: (read: number) => Error | undefined,
  run: () => Promise<T>,
): Promise<{ result: T; reads: number }> {
  const originalRead = ContextStore.prototype.readDocument;
  let reads = 0;
  ContextStore.prototype.readDocument = async function readDocument(
    this: ContextStore,
    ...args: Parameters<ContextStore["readDocument"]>
  ) {
    reads += 1;
    const error = fault(reads);
    if (error) throw error;
    return originalRead.apply(this, args);
  };
  try {
    return { result: await run(), reads };
  } finally {
    ContextStore.prototype.readDocument = originalRead;
  }
}

const cellCode = "```js\nprint(context.length)\n```";

it("a document read that fails is retried with the job, not the end of the analysis", async () => {
  const root = new ScriptedModel((request) => (turnOf(request) === 1 ? cellCode : "FINAL(done)"));
  workers.push(
    await startRlmWorker({ connection, prefix, rootModelClient: root, llmModelClient: root }),
  );
  const text = "q".repeat(50_000);
  // The read while the first root call is in flight fails, and again at the first cell.
  const { result, reads } = await withReadFault(
    (read) => (read <= 2 ? new Error("ECONNRESET (injected)") : undefined),
    async () => {
      const { id } = await client.enqueueAnalysis({ query: "How long?", context: text });
      return client.waitForResult(id, { timeoutMs: 30_000 });
    },
  );
  expect(result.finishReason).toBe("final");
  expect(result.replHistory[0]?.output).toBe(String(text.length));
  expect(reads).toBe(3);
  // The retry replayed the first root turn from the journal instead of asking again.
  expect(root.requests.filter((request) => turnOf(request) === 1)).toHaveLength(1);
});

it("a document that expired while deferred fails the analysis with context_missing", async () => {
  const root = new ScriptedModel((request) => (turnOf(request) === 1 ? cellCode : "FINAL(done)"));
  workers.push(
    await startRlmWorker({ connection, prefix, rootModelClient: root, llmModelClient: root }),
  );
  const gone = new RlmError("context_missing", "context abc… is no longer stored (injected)");
  const { result } = await withReadFault(
    () => gone,
    async () => {
      const { id } = await client.enqueueAnalysis({
        query: "How long?",
        context: "r".repeat(9_000),
      });
      const settled = await client.waitForResult(id, { timeoutMs: 30_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      return { settled, view: await client.getAnalysis(id) };
    },
  );
  expect(result.settled).toMatchObject({ code: "analysis_failed" });
  expect(result.view?.status).toBe("failed");
  expect(result.view?.error?.message).toMatch(/no longer stored/);
});

it("a deadline that passes while the document loads ends the analysis as a budget, not a cancel", async () => {
  const root = new ScriptedModel((request) => (turnOf(request) === 1 ? cellCode : "FINAL(done)"));
  workers.push(
    await startRlmWorker({ connection, prefix, rootModelClient: root, llmModelClient: root }),
  );
  const slowRead = new Promise<void>((resolve) => setTimeout(resolve, 1_500));
  const originalRead = ContextStore.prototype.readDocument;
  ContextStore.prototype.readDocument = async function readDocument(
    this: ContextStore,
    ...args: Parameters<ContextStore["readDocument"]>
  ) {
    await slowRead;
    return originalRead.apply(this, args);
  };
  try {
    const { id } = await client.enqueueAnalysis({
      query: "How long?",
      context: "s".repeat(30_000),
      options: { budgets: { deadlineMs: 600 } },
    });
    const outcome = await client.waitForResult(id, { timeoutMs: 30_000 }).then(
      (result) => result.finishReason,
      (error: unknown) => (error as { code?: string }).code,
    );
    const view = await client.getAnalysis(id);
    expect(outcome).toBe("budget");
    expect(view?.result?.error).toMatchObject({ code: "budget_exceeded" });
  } finally {
    ContextStore.prototype.readDocument = originalRead;
  }
});
