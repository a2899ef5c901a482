import { type MockLlmServer, type MockRequestRecord, startMockLlmServer } from "@rlm/mock-llm";
import { RlmQueueClient } from "@rlm/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { type PrivateRedis, startPrivateRedis } from "./support/private-redis.js";
import {
  ANSWERED_BEFORE_KILL_MS,
  startWorkerProcess,
  type WorkerProcess,
} from "./support/worker-process.js";

// Chaos, bounded in time and count: 3 worker processes, 20% injected model faults,
// SIGKILLs of workers at seeded random moments and a restart of Redis (AOF, fsync always)
// in the middle, 10 analyses. Every analysis must end right, none lost or stuck, and no
// model call answered to a live worker may be paid again (only calls still on the wire
// when their worker died may be repeated).
const ANALYSES = 10;
const WORKERS = 3;

let redis: PrivateRedis;
let mock: MockLlmServer;
let client: RlmQueueClient;
const prefix = `rlmt-chaos-${process.pid}`;

beforeAll(async () => {
  redis = await startPrivateRedis();
  mock = await startMockLlmServer({
    latencyMs: 250,
    seed: 20261207,
    strategy: "map-reduce",
    chunkChars: 15_000,
    faults: {
      serverErrorRate: 0.1,
      rateLimitRate: 0.05,
      malformedRate: 0.05,
      retryAfterSeconds: 0.2,
    },
  });
  client = new RlmQueueClient({ connection: { host: "127.0.0.1", port: redis.port }, prefix });
});

afterAll(async () => {
  await client?.close();
  await mock?.stop();
  await redis?.destroy();
});

/** A seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

describe("chaos", () => {
  it("10 analyses through kills, faults and a Redis restart: all right, none repeated", async () => {
    const random = seeded(7);
    const startWorker = () =>
      startWorkerProcess({
        TEST_PREFIX: prefix,
        TEST_MODEL_URL: mock.url,
        TEST_REDIS_PORT: String(redis.port),
        TEST_LOCK_MS: "2000",
        // At 20% faults four tries in a row fail one call in 600 (0.2^4): over a run's ~50
        // root turns that failed an analysis now and then, and retries are not what this
        // test is about.
        TEST_MAX_ATTEMPTS: "8",
        TEST_STALLED_MS: "1000",
        // Few slots: the work outlasts the chaos instead of finishing between two kills.
        TEST_ROOT_CONCURRENCY: "2",
        TEST_LLM_CONCURRENCY: "3",
      });
    const workers: WorkerProcess[] = await Promise.all(
      Array.from({ length: WORKERS }, () => startWorker()),
    );
    const documents = Array.from({ length: ANALYSES }, (_, index) =>
      makeDocument({ chars: 150_000 + 10_000 * index, markerCount: 5 + index, seed: 100 + index }),
    );
    const ids: string[] = [];
    for (const document of documents) {
      const { id } = await client.enqueueAnalysis({
        query: `How many times does "${document.marker}" appear?`,
        context: document.text,
      });
      ids.push(id);
    }
    const results = Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 150_000 })));
    let settled = false;
    void results.then(
      () => (settled = true),
      () => (settled = true),
    );

    // Kill a random worker every 0.5–1.5 s; restart Redis once, after the second kill.
    const disruptions: number[] = [];
    const outage = { down: 0, up: 0 };
    let kills = 0;
    let restarted = false;
    while (!settled && kills < 12) {
      await new Promise((resolve) => setTimeout(resolve, 500 + 1_000 * random()));
      if (settled) break;
      const victim = Math.floor(random() * workers.length);
      const doomed = workers[victim]!;
      doomed.kill("SIGKILL");
      disruptions.push(Date.now());
      await doomed.exited;
      workers[victim] = await startWorker();
      kills += 1;
      if (kills === 2 && !restarted) {
        restarted = true;
        outage.down = Date.now();
        await redis.stop();
        // Down for 10 s, as a failover or a slow restart takes.
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        await redis.start();
        outage.up = Date.now();
      }
    }
    const finished = await results;
    for (const worker of workers) worker.kill("SIGKILL");
    await Promise.all(workers.map((worker) => worker.exited));

    expect(restarted).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(4);
    finished.forEach((result, index) => {
      expect(result.finishReason, `analysis ${index}: ${result.error?.message}`).toBe("final");
      expect(result.answer.trim()).toBe(String(documents[index]!.markerCount));
    });
    expect(repeatedAnsweredCalls(mock.requests(), disruptions, outage)).toEqual([]);
  }, 240_000);
});

/**
 * Requests answered in full (200, no injected fault) to a worker that was not killed
 * within 50 ms after, which were asked again later: calls paid twice. Each is described
 * with its times relative to the Redis outage's start, to tell the cause.
 */
function repeatedAnsweredCalls(
  requests: MockRequestRecord[],
  kills: number[],
  outage: { down: number; up: number },
): string[] {
  const answered = requests.filter((request) => {
    if (request.status !== 200 || request.endedAt === null || request.fault) return false;
    const nextKill = kills.find((killedAt) => killedAt > request.startedAt);
    return nextKill === undefined || request.endedAt < nextKill - ANSWERED_BEFORE_KILL_MS;
  });
  const at = (ms: number) => Math.round(ms - outage.down);
  return answered
    .filter((first) =>
      requests.some(
        (later) =>
          later.messagesHash === first.messagesHash && later.startedAt > (first.endedAt ?? 0),
      ),
    )
    .map((first) => {
      const again = requests
        .filter((later) => later.messagesHash === first.messagesHash && later !== first)
        .map((later) => at(later.startedAt));
      return `${first.id} ${first.kind}: asked at ${at(first.startedAt)}, answered at ${at(first.endedAt ?? 0)}, asked again at ${again.join(", ")} (ms from the outage, back at ${at(outage.up)}; kills at ${kills.map(at).join(", ")})`;
    });
}
