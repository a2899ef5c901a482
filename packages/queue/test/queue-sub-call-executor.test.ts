import { answeredSubCall, type SubCallRecord, type SubCallTask, UsageTracker } from "@rlm/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnswerBus } from "../src/answers/answer-bus.js";
import { jobNames } from "../src/jobs/job-names.js";
import {
  createLlmQueue,
  createRootQueue,
  type LlmQueue,
  type RootQueue,
} from "../src/jobs/queues.js";
import { ContextStore } from "../src/storage/context-store.js";
import { RedisJournal } from "../src/storage/redis-journal.js";
import type { CallLane } from "../src/sub-calls/call-lane.js";
import { QueueSubCallExecutor } from "../src/sub-calls/queue-sub-call-executor.js";
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

let analyses = 0;

/** An executor of a new analysis whose process has `slotsHere` call slots free. */
async function executor(slotsHere: number, answerHere: (query: string) => SubCallRecord) {
  const analysisId = `an_executor${(analyses += 1)}`;
  const parent = await rootQueue.add(
    jobNames.analysis(analysisId, "q"),
    {
      analysisId,
      query: "q",
      contextRef: { sha256: "0".repeat(64), kind: "string", chars: 1, bytes: 1 },
      options: {},
      depth: 0,
    },
    { jobId: analysisId },
  );
  const bus = new AnswerBus();
  let free = slotsHere;
  const lane: CallLane = {
    runHere: (_header, call) => {
      if (free === 0) return undefined;
      free -= 1;
      return Promise.resolve(answerHere(call.query));
    },
    listen: (id, listener) => bus.listen(id, listener),
  };
  const created = new QueueSubCallExecutor({
    placement: {
      analysisId,
      journalScope: "",
      options: {},
      subModel: "sub",
      maxOutputTokens: undefined,
      depth: 0,
    },
    journal: new RedisJournal({ redis, analysisId, prefix }),
    contexts: new ContextStore({ redis, prefix }),
    rootQueue,
    llmQueue,
    lane,
    rebuilt: false,
    sandboxIdle: () => Promise.resolve(),
  });
  created.attach(parent);
  return { analysisId, executor: created, bus };
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

/** Resolves once `count` LM jobs of `analysisId` wait in the queue. */
async function untilQueued(analysisId: string, count: number) {
  await within(
    (async () => {
      for (;;) {
        const jobs = await llmQueue.getJobs(["waiting"]);
        if (jobs.filter((job) => job.data.analysisId === analysisId).length >= count) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })(),
    5_000,
    "the LM jobs",
  );
}

describe("QueueSubCallExecutor", () => {
  it("makes a call here while a slot is free, and queues the next one as an LM job of its own", async () => {
    const { analysisId, executor: calls } = await executor(1, (query) => answer(`here: ${query}`));
    const first = calls.execute(task("sub:1.0:a:0"));
    const second = calls.execute(task("sub:1.0:b:0"));
    expect((await first).answer).toBe("here: question sub:1.0:a:0");
    await untilQueued(analysisId, 1);
    const [job] = (await llmQueue.getJobs(["waiting"])).filter(
      (queued) => queued.data.analysisId === analysisId,
    );
    expect(job?.data.calls.map((call) => call.journalKey)).toEqual(["sub:1.0:b:0"]);
    expect(job?.name).toBe(`calls ×1 · ${analysisId} · "question sub:1.0:b:0"`);
    expect(job?.parent?.id).toBe(analysisId);
    expect(calls.callsHere).toBe(1);
    expect(calls.callsQueued).toBe(1);
    calls.deliver("sub:1.0:b:0", answer("queued"));
    expect((await second).answer).toBe("queued");
    expect(calls.issuedChildren).toBe(true);
  });

  it("says an answer that arrived live or was read from the journal is journaled, and a lost child's error is not", async () => {
    const { analysisId, executor: calls, bus } = await executor(0, () => answer("unused"));
    const live = task("sub:1.0:a:0");
    const missed = task("sub:1.0:b:0");
    const lost = task("sub:1.0:c:0");
    const results = [live, missed, lost].map((one) => calls.execute(one));
    await untilQueued(analysisId, 3);
    // Live: the bus hands it to the run that waits for it.
    const announced = answer("42");
    expect(bus.wants(analysisId, live.key)).toBe(true);
    expect(bus.deliver(analysisId, live.key, announced)).toBe(true);
    // Missed live: the journal has it.
    await new RedisJournal({ redis, analysisId, prefix }).putIfAbsent(missed.key, answer("7"));
    await calls.checkJournal();
    // Lost: its job is gone without an answer.
    const queued = (await llmQueue.getJobs(["waiting"])).filter(
      (job) => job.data.calls[0]?.journalKey === lost.key,
    );
    for (const job of queued) await job.remove();
    await calls.childrenEnded();
    const [fromBus, fromJournal, failed] = await Promise.all(results);
    expect(fromBus).toBe(announced);
    expect(calls.journaled(live, fromBus!)).toBe(true);
    expect(fromJournal?.answer).toBe("7");
    expect(calls.journaled(missed, fromJournal!)).toBe(true);
    expect(failed?.error?.code).toBe("sub_call_failed");
    expect(calls.journaled(lost, failed!)).toBe(false);
    expect(bus.wants(analysisId, live.key)).toBe(false);
  });
});
