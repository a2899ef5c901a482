import { createLlmQueue } from "@rlm/queue";
import { describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { queueTestbed } from "./support/queue-testbed.js";

// Issue 14's points 3, 6 and 8 through the queue: worker processes, real Redis and BullMQ,
// the mock LLM over HTTP playing real-model habits.
const bed = queueTestbed("habits", { latencyMs: 5, strategy: "map-reduce", chunkChars: 60_000 });
const document = makeDocument({ chars: 400_000, markerCount: 31, seed: 14 });
const query = `How many times does "${document.marker}" appear?`;
const chunks = Math.ceil(document.text.length / 60_000);

describe("real-model habits through the queue", () => {
  it("a forgotten await: asking again is answered from the first calls, not paid twice", async () => {
    bed.mock.configure({ habits: ["forgotten-await"] });
    await bed.worker();
    const { id } = await bed.client.enqueueAnalysis({ query, context: document.text });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const unawaited = result.replHistory.find((cell) => (cell.unawaitedSubCalls ?? 0) > 0);
    expect(unawaited?.unawaitedSubCalls).toBe(chunks);
    expect(bed.mock.requests().filter((request) => request.kind === "sub")).toHaveLength(chunks);
  });

  it("a sequential await loop over slow sub-calls is not a runaway cell", async () => {
    bed.mock.configure({ habits: ["sequential-await"], latencyMs: 300 });
    await bed.worker();
    const { id } = await bed.client.enqueueAnalysis({
      query,
      context: document.text,
      options: { limits: { cellTimeoutMs: 1_000 } },
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.replHistory.some((cell) => cell.code.includes("for (const c of chunks)"))).toBe(
      true,
    );
    expect(result.replHistory.every((cell) => cell.error === undefined)).toBe(true);
    expect(result.answer.trim()).toBe(String(document.markerCount));
  });

  it("a typed answer: the plain FINAL refused, the validated object in result.output", async () => {
    bed.mock.configure({ habits: ["untyped-final"] });
    await bed.worker();
    const outputSchema = {
      type: "object",
      properties: { count: { type: "integer" } },
      required: ["count"],
    };
    const { id } = await bed.client.enqueueAnalysis({
      query,
      context: document.text,
      options: { outputSchema },
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.finishReason).toBe("final");
    expect(result.output).toEqual({ count: document.markerCount });
    expect(JSON.parse(result.answer)).toEqual(result.output);
    expect(
      result.messages.some((message) =>
        message.content.includes("Your FINAL answer was not taken"),
      ),
    ).toBe(true);
  });

  it("typed sub-calls through the queue: response_format where taken, else by prompt with a retry", async () => {
    // One worker for the calls the root's process makes itself, one for the LM jobs.
    bed.mock.configure({ habits: ["typed-sub-calls"] });
    await bed.worker({ TEST_LLM_CONCURRENCY: "2" });
    await bed.worker({ TEST_ROLES: "llm" });
    const first = await bed.client.enqueueAnalysis({ query, context: document.text });
    const typed = await bed.client.waitForResult(first.id, { timeoutMs: 60_000 });
    expect(typed.answer.trim()).toBe(String(document.markerCount));
    const subs = bed.mock.requests().filter((request) => request.kind === "sub");
    expect(subs).toHaveLength(chunks);
    expect(subs.every((request) => request.responseFormat === "json_schema")).toBe(true);
    // Some of the calls went as LM jobs (carrying their schema) to the other worker.
    const llmQueue = createLlmQueue({
      connection: { host: "127.0.0.1", port: 6379 },
      prefix: bed.prefix,
    });
    const jobs = (await llmQueue.getJobs(["completed"], 0, 100)).filter(
      (job) => job.data.analysisId === first.id,
    );
    await llmQueue.close();
    expect(jobs.length).toBeGreaterThan(0);
    expect(
      jobs.every((job) => job.data.calls.every((call) => call.schema?.type === "object")),
    ).toBe(true);

    bed.mock.reset();
    bed.mock.configure({ habits: ["typed-sub-calls", "loose-json"], rejectResponseFormat: true });
    const second = await bed.client.enqueueAnalysis({ query, context: `${document.text}\n` });
    const prompted = await bed.client.waitForResult(second.id, { timeoutMs: 60_000 });
    expect(prompted.answer.trim()).toBe(String(document.markerCount));
    const answered = bed.mock
      .requests()
      .filter((request) => request.kind === "sub" && request.status === 200);
    // Each chunk: a loose answer refused by the schema, then the corrected one.
    expect(answered).toHaveLength(2 * chunks);
  });
});
