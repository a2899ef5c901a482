import { RlmError, type RlmResult } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RlmQueueClient } from "../src/client/rlm-queue-client.js";
import { createRootQueue, type RootQueue } from "../src/jobs/queues.js";
import { SessionStore } from "../src/sessions/session-store.js";
import { isSessionId } from "../src/sessions/session-types.js";
import { DAY_SECONDS, redisKeys } from "../src/storage/keys.js";
import { startRlmWorker } from "../src/worker/start-worker.js";
import type { RlmWorker } from "../src/worker/worker-options.js";
import { deleteKeysUnder, newRedis, REDIS_OPTIONS, uniquePrefix } from "./redis-helpers.js";

// Sessions through the queue with a worker in this process and the mock LLM over HTTP:
// the producer's side (create, ask, view), the order questions run in, retention.
const prefix = uniquePrefix("sessions");
const keys = redisKeys(prefix);
const RETENTION_S = 1_000;
const DOCUMENT = Array.from(
  { length: 400 },
  (_, line) => `line ${line}: shipment ${line % 7 === 0 ? "INC-42 " : ""}delayed at the dock`,
).join("\n");
const countOf = (term: string) => DOCUMENT.split(term).length - 1;
const ask = (term: string) => `How many times does "${term}" appear?`;

let mock: MockLlmServer;
let redis: Redis;
let client: RlmQueueClient;
let queue: RootQueue;
let worker: RlmWorker;

beforeAll(async () => {
  mock = await startMockLlmServer({ strategy: "peek-grep", habits: ["session-aware"] });
  redis = newRedis();
  client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix, retentionSeconds: RETENTION_S });
  queue = createRootQueue({ connection: REDIS_OPTIONS, prefix });
  worker = await startRlmWorker({
    connection: REDIS_OPTIONS,
    prefix,
    model: { baseURL: mock.url, apiKey: "test-key" },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
    retentionDays: RETENTION_S / DAY_SECONDS,
  });
});

afterEach(() => {
  mock.configure({ latencyMs: 0 });
});

afterAll(async () => {
  await worker?.close({ timeoutMs: 5_000 });
  await client?.close();
  await queue?.close();
  await mock?.stop();
  await deleteKeysUnder(redis, prefix);
  await redis?.quit();
});

/** When the mock received the first root request after `afterMs`. */
function firstRequestAfter(afterMs: number): number | undefined {
  return mock.requests().find((request) => request.startedAt > afterMs)?.startedAt;
}

async function ended(id: string): Promise<{ result: RlmResult; endedAt: number }> {
  const result = await client.waitForResult(id, { timeoutMs: 30_000 });
  const view = await client.getAnalysis(id);
  return { result, endedAt: Date.parse(view!.updatedAt) };
}

describe("sessions through the queue", () => {
  it("are created over a document stored once; bad input is refused, unknown sessions not found", async () => {
    const first = await client.sessions.create({ context: DOCUMENT });
    expect(isSessionId(first.id)).toBe(true);
    expect(first).toMatchObject({ questions: [], deduplicated: false });
    const second = await client.sessions.create({
      context: DOCUMENT,
      options: { maxIterations: 4 },
    });
    const store = new SessionStore({ redis, prefix });
    const [a, b] = await Promise.all([store.get(first.id), store.get(second.id)]);
    expect(a?.contextRef).toEqual(b?.contextRef);
    expect(b?.options).toEqual({ maxIterations: 4 });
    // The same idempotency key: the same session.
    const keyed = await client.sessions.create({ context: DOCUMENT, idempotencyKey: "k-1" });
    const again = await client.sessions.create({ context: "other", idempotencyKey: "k-1" });
    expect(again).toMatchObject({ id: keyed.id, deduplicated: true });

    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => "resolved",
        (error: unknown) => (error instanceof RlmError ? error.code : String(error)),
      );
    expect(await code(client.sessions.create({ context: "  " }))).toBe("invalid_input");
    expect(
      await code(client.sessions.create({ context: DOCUMENT, options: { maxIterations: 0 } })),
    ).toBe("invalid_options");
    expect(await code(client.sessions.ask(first.id, { query: " " }))).toBe("invalid_input");
    expect(await code(client.sessions.ask("se_unknown", { query: "Why?" }))).toBe("not_found");
    expect(await client.sessions.get("se_unknown")).toBeNull();
  });

  it("runs a question asked while another runs once that one has ended, started by it (not by a watch)", async () => {
    // Three turns of 1.5 s: the first question ends at ~4.5 s, between the waiting
    // question's looks (at 2 s, 4 s, then 8 s).
    mock.configure({ latencyMs: 1_500 });
    const { id } = await client.sessions.create({ context: DOCUMENT });
    const q1 = await client.sessions.ask(id, { query: ask("INC-42") });
    const q2 = await client.sessions.ask(id, { query: ask("dock") });
    // Added waiting (delayed), visible as any root job.
    expect((await queue.getJob(q2.id))?.delay).toBeGreaterThan(0);
    const first = await ended(q1.id);
    const second = await ended(q2.id);
    expect(first.result.answer.trim()).toBe(String(countOf("INC-42")));
    expect(second.result.answer.trim()).toBe(String(countOf("dock")));
    // The second started after the first had ended, and soon after.
    const started = firstRequestAfter(first.endedAt - 1);
    expect(started).toBeDefined();
    expect(started! - first.endedAt).toBeLessThan(1_500);
    expect(second.result.replHistory[0]?.output).toContain("question 2 of a session; history: 1");
    expect(second.result.replHistory[0]?.output).toContain(`earlier count: ${countOf("INC-42")}`);
  });

  it("leaves a question cancelled while it waited out of history, and runs the next one", async () => {
    mock.configure({ latencyMs: 1_500 });
    const { id } = await client.sessions.create({ context: DOCUMENT });
    const q1 = await client.sessions.ask(id, { query: ask("INC-42") });
    const q2 = await client.sessions.ask(id, { query: ask("line") });
    const q3 = await client.sessions.ask(id, { query: ask("shipment") });
    expect(await client.cancel(q2.id)).toBe("cancelled");
    const first = await ended(q1.id);
    const third = await ended(q3.id);
    expect(third.result.answer.trim()).toBe(String(countOf("shipment")));
    // Started by the first question's end, past the cancelled one.
    expect(firstRequestAfter(first.endedAt - 1)! - first.endedAt).toBeLessThan(1_500);
    expect(third.result.replHistory[0]?.output).toContain("question 3 of a session; history: 1");
    const view = await client.sessions.get(id);
    expect(view?.questions.map(({ status, answer }) => [status, answer])).toEqual([
      ["completed", first.result.answer],
      ["cancelled", undefined],
      ["completed", third.result.answer],
    ]);
  });

  it("an idempotency key asks a question once", async () => {
    const { id } = await client.sessions.create({ context: DOCUMENT });
    const asked = await client.sessions.ask(id, { query: ask("dock"), idempotencyKey: "q" });
    const retried = await client.sessions.ask(id, { query: ask("dock"), idempotencyKey: "q" });
    expect(retried).toMatchObject({ id: asked.id, position: 0, deduplicated: true });
    await client.waitForResult(asked.id, { timeoutMs: 30_000 });
    // The same key in another session is another question.
    const other = await client.sessions.create({ context: DOCUMENT });
    const elsewhere = await client.sessions.ask(other.id, {
      query: ask("dock"),
      idempotencyKey: "q",
    });
    expect(elsewhere.id).not.toBe(asked.id);
    const next = await client.sessions.ask(id, { query: ask("line") });
    expect(next.position).toBe(1);
    expect((await client.sessions.get(id))?.questions).toHaveLength(2);
    await client.waitForResult(next.id, { timeoutMs: 30_000 });
    await client.waitForResult(elsewhere.id, { timeoutMs: 30_000 });
  });

  it("keeps the earlier questions' journals as long as the session", async () => {
    const { id } = await client.sessions.create({ context: DOCUMENT });
    const q1 = await client.sessions.ask(id, { query: ask("INC-42") });
    await client.waitForResult(q1.id, { timeoutMs: 30_000 });
    expect(await redis.ttl(keys.journal(q1.id))).toBeGreaterThan(RETENTION_S - 30);
    // Days later (shortened lifetimes stand for the time gone by), a question is asked:
    // what the rebuild will replay, and the document, live as long as the session again.
    const aged = [keys.journal(q1.id), keys.analysis(q1.id), keys.session(id)];
    for (const key of aged) await redis.expire(key, 5);
    const q2 = await client.sessions.ask(id, { query: ask("dock") });
    for (const key of aged) expect(await redis.ttl(key), key).toBeGreaterThan(RETENTION_S - 30);
    await redis.expire(keys.journal(q1.id), 5);
    const second = await client.waitForResult(q2.id, { timeoutMs: 30_000 });
    expect(second.replHistory[0]?.output).toContain(`earlier count: ${countOf("INC-42")}`);
    // And when a question ends.
    expect(await redis.ttl(keys.journal(q1.id))).toBeGreaterThan(RETENTION_S - 30);
  });
});
