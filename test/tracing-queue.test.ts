import type { ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { createApiServer } from "@rlm/api";
import { createRootQueue, type RootQueue } from "@rlm/queue";
import { BullMQOtel } from "bullmq-otel";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { inProcessWorkers } from "./support/in-process-workers.js";
import { type MemoryTracing, memoryTracing } from "./support/memory-tracing.js";

// The queue path's spans with an OpenTelemetry SDK keeping them in memory: an analysis
// posted to the API is one trace, from the request through the runs of its root job in
// a root worker to each sub-call made by an LM job in another worker, the trace context
// travelling in the job data; nested analyses and runs rebuilt after giving their job up
// stay in it.
const tracing: MemoryTracing = memoryTracing();
const bed = inProcessWorkers("tracing", { strategy: "map-reduce", chunkChars: 20_000 });
const TOKEN = "tracing-test-token";
let app: FastifyInstance;
let rootQueue: RootQueue;
// The queues that add jobs get BullMQ's producer spans.
const telemetry = new BullMQOtel({ tracerName: "bullmq" });

beforeAll(async () => {
  rootQueue = createRootQueue({ connection: bed.connection, prefix: bed.prefix });
  app = createApiServer({
    connection: bed.connection,
    prefix: bed.prefix,
    apiToken: TOKEN,
    logger: false,
    telemetry,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await rootQueue?.close();
  await tracing.shutdown();
});

/** Posts an analysis to the API and waits for its result (through the queue client). */
async function analyse(chars: number, markerCount: number, options: object = {}) {
  const document = makeDocument({ chars, markerCount, seed: markerCount });
  const posted = await app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: {
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
      options,
    },
  });
  expect(posted.statusCode).toBe(202);
  const { id } = posted.json<{ id: string }>();
  const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
  expect(result.answer.trim()).toBe(String(markerCount));
  // The result is recorded before the run ends (and its span with it): BullMQ completes
  // the job once the processor has returned.
  const deadline = Date.now() + 10_000;
  while ((await rootQueue.getJobState(id)) !== "completed") {
    if (Date.now() > deadline) throw new Error(`the root job of ${id} did not complete`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const request = tracing.named("POST /v1/analyses").at(-1)!;
  const traceId = request.spanContext().traceId;
  return {
    id,
    request,
    traceId,
    spans: tracing.spans().filter((span) => span.spanContext().traceId === traceId),
  };
}

const attribute = (span: ReadableSpan | undefined, name: string) => span?.attributes[name];

describe("an analysis through the API and the queue is one trace", () => {
  it("request → enqueue → run in the root worker → turns and cells → sub-calls → LM job calls in the other worker", async () => {
    const rootWorker = await bed.worker({ roles: ["root"], name: "root-1", telemetry });
    const llmWorker = await bed.worker({ roles: ["llm"], name: "llm-1", telemetry });
    const { id, request, traceId, spans } = await analyse(100_000, 7);
    expect(request.parentSpanContext).toBeUndefined();
    // Everything of the analysis, and nothing else, is in the request's trace.
    expect(
      tracing
        .spans()
        .filter((span) => attribute(span, "rlm.analysis.id") === id)
        .every((span) => span.spanContext().traceId === traceId),
    ).toBe(true);
    const named = (name: string) => spans.filter((span) => span.name === name);
    const [enqueue] = named("rlm.enqueue");
    expect(tracing.parentOf(enqueue!)).toBe(request);
    expect(attribute(enqueue, "rlm.analysis.id")).toBe(id);
    // bullmq-otel's producer span of the root job, under the enqueue.
    const add = spans.find((span) => span.name.startsWith("add rlm-root."));
    expect(tracing.parentOf(add!)).toBe(enqueue);

    const [run, ...moreRuns] = named("rlm.run");
    expect(moreRuns).toEqual([]);
    expect(tracing.parentOf(run!)).toBe(enqueue);
    expect(attribute(run, "rlm.worker")).toBe("root-1");
    expect(attribute(run, "messaging.message.id")).toBe(id);
    const turns = named("rlm.root_turn");
    expect(turns.length).toBeGreaterThanOrEqual(2);
    for (const turn of turns) expect(tracing.parentOf(turn)).toBe(run);
    const cells = named("rlm.cell");
    for (const cell of cells) expect(tracing.parentOf(cell)).toBe(run);

    const subCalls = named("rlm.sub_call");
    const madeBySub = bed.mock.requests().filter((request) => request.kind === "sub").length;
    expect(subCalls).toHaveLength(madeBySub);
    const calls = named("rlm.llm_call");
    expect(calls).toHaveLength(madeBySub);
    for (const call of calls) {
      const subCall = tracing.parentOf(call)!;
      expect(subCall.name).toBe("rlm.sub_call");
      expect(cells).toContain(tracing.parentOf(subCall));
      expect(attribute(call, "rlm.sub_call.key")).toBe(attribute(subCall, "rlm.sub_call.key"));
      expect(attribute(call, "rlm.call.outcome")).toBe("answered");
      expect(attribute(call, "gen_ai.usage.input_tokens")).toBe(
        attribute(subCall, "gen_ai.usage.input_tokens"),
      );
    }
    // The LM jobs' producer spans are under the sub-calls that added them.
    const adds = spans.filter((span) => /^addBulk rlm-llm|^add rlm-llm\./.test(span.name));
    expect(adds.length).toBeGreaterThan(0);
    for (const span of adds) expect(tracing.parentOf(span)?.name).toBe("rlm.sub_call");
    expect(llmWorker.runStats().llmJobsTaken).toBe(madeBySub);
    expect(rootWorker.runStats().callsHere).toBe(0);
  });

  it("nested analyses and runs rebuilt after giving their job up stay in the trace", async () => {
    // One step slot: the root run gives its job up while its nested analyses run.
    const both = await bed.worker({ concurrency: { root: 1, llm: 4 }, telemetry });
    const { id, traceId, spans } = await analyse(120_000, 9, { maxDepth: 2 });
    expect(both.runStats().rebuilt).toBeGreaterThan(0);
    const runs = spans.filter((span) => span.name === "rlm.run");
    const top = runs.filter((span) => attribute(span, "rlm.depth") === 0);
    const nested = runs.filter((span) => attribute(span, "rlm.depth") === 1);
    expect(top.length).toBeGreaterThan(1);
    expect(nested.length).toBeGreaterThan(1);
    const [enqueue] = spans.filter((span) => span.name === "rlm.enqueue");
    // Every run of the top analysis, the first and the rebuilt ones, under the enqueue.
    for (const run of top) expect(tracing.parentOf(run)).toBe(enqueue);
    expect(top.filter((run) => attribute(run, "rlm.run.rebuilt") === true).length).toBe(
      top.length - 1,
    );
    // A nested analysis's run is a child of the sub-call that asked for it.
    for (const run of nested) {
      const subCall = tracing.parentOf(run)!;
      expect(subCall.name).toBe("rlm.sub_call");
      expect(attribute(subCall, "rlm.sub_call.nested")).toBe(true);
      expect(top).toContain(tracing.parentOf(tracing.parentOf(subCall)!));
    }
    // The first run gave its job up mid-cell: its calls' spans end cancelled, not failed.
    const firstRun = top.find((run) => attribute(run, "rlm.run.rebuilt") === undefined);
    const leftBehind = spans.filter(
      (span) =>
        span.name === "rlm.sub_call" &&
        tracing.parentOf(tracing.parentOf(span)!) === firstRun &&
        attribute(span, "rlm.sub_call.source") === undefined,
    );
    expect(leftBehind.length).toBeGreaterThan(0);
    for (const span of leftBehind) {
      expect(attribute(span, "rlm.cancelled")).toBe(true);
      expect(span.status.code).toBe(0);
    }
    expect(
      tracing
        .spans()
        .filter((span) => attribute(span, "rlm.analysis.id") === id)
        .every((span) => span.spanContext().traceId === traceId),
    ).toBe(true);
  });
});
