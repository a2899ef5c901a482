import { answeredSubCall, MemoryJournal, type SubCallTask, UsageTracker } from "@rlm/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContextStore } from "../src/storage/context-store.js";
import { JobName } from "../src/jobs/job-types.js";
import { QueueSubCallExecutor } from "../src/sub-calls/queue-sub-call-executor.js";
import {
  createLlmQueue,
  createRootQueue,
  type LlmQueue,
  type RootQueue,
} from "../src/jobs/queues.js";
import { deleteKeysUnder, newRedis, REDIS_OPTIONS, uniquePrefix, within } from "./redis-helpers.js";

// Real Redis and BullMQ queues; no workers: the test plays the LM side itself.
const prefix = uniquePrefix("executor");
let redis: Redis;
let rootQueue: RootQueue;
let llmQueue: LlmQueue;

beforeAll(() => {
  redis = newRedis();
  rootQueue = createRootQueue({ connection: REDIS_OPTIONS, prefix });
  llmQueue = createLlmQueue({ connection: REDIS_OPTIONS, prefix });
});

afterAll(async () => {
  await rootQueue.close();
  await llmQueue.close();
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

async function executor() {
  const parent = await rootQueue.add(JobName.root, {
    analysisId: "a1",
    query: "q",
    contextRef: { sha256: "0".repeat(64), kind: "string", chars: 1, bytes: 1 },
    options: {},
    depth: 0,
  } as never);
  const created = new QueueSubCallExecutor({
    placement: {
      analysisId: "a1",
      journalScope: "",
      options: {},
      subModel: "sub",
      maxOutputTokens: undefined,
    },
    journal: new MemoryJournal(),
    contexts: new ContextStore({ redis, prefix }),
    rootQueue,
    llmQueue,
    sandboxIdle: () => Promise.resolve(),
  });
  created.attach(parent);
  return created;
}

function task(key: string): SubCallTask {
  return {
    key,
    query: `question ${key}`,
    context: "some text",
    depth: 0,
    nested: false,
    argumentsHash: key,
    usage: new UsageTracker(),
    remainingBudgets: {},
  };
}

const answer = (text: string) =>
  answeredSubCall(
    { argumentsHash: "h", query: "q", contextChars: 9 },
    {
      content: text,
      model: "sub",
      usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
      durationMs: 1,
    },
    1,
  );

describe("QueueSubCallExecutor.journaled", () => {
  it("says an answer announced from the journal is in it, and a lost child's error is not", async () => {
    const calls = await executor();
    const delivered = task("sub:1.0:a:0");
    const lost = task("sub:1.0:b:0");
    const first = calls.execute(delivered);
    const second = calls.execute(lost);
    // Both calls are in an LM job before anything answers them.
    await within(
      (async () => {
        while ((await llmQueue.getJobCounts("waiting")).waiting === 0) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      })(),
      5_000,
      "the LM job",
    );
    const announced = answer("42");
    calls.deliver(delivered.key, announced);
    calls.failPending(lost.key, "the child job vanished");
    const [fromJournal, failed] = await Promise.all([first, second]);
    expect(fromJournal).toBe(announced);
    expect(calls.journaled(delivered, fromJournal)).toBe(true);
    expect(failed.error?.code).toBe("sub_call_failed");
    expect(calls.journaled(lost, failed)).toBe(false);
  });
});
