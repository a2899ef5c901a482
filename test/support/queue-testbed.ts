import { type MockLlmOptions, type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { RlmQueueClient } from "@rlm/queue";
import { afterAll, afterEach, beforeAll } from "vitest";
import { uniquePrefix } from "./redis-prefix.js";
import { localRedis, type TestRedis } from "./test-redis.js";
import { startWorkerProcess, type WorkerProcess } from "./worker-process.js";

/**
 * The queue path for one test file: a mock LLM over HTTP, a producer client on a unique
 * Redis prefix, and worker processes started on demand. Registers the hooks: workers are
 * SIGKILLed and the mock reset to `mockDefaults` after each test, everything closed and
 * the prefix's keys deleted after the file. `redis` is where it all runs: the local Redis,
 * or a cluster (`startRedisCluster`, started by an earlier `beforeAll`).
 */
export function queueTestbed(
  name: string,
  mockDefaults: MockLlmOptions,
  redis: () => TestRedis = () => localRedis,
) {
  const prefix = uniquePrefix(name);
  const workers: WorkerProcess[] = [];
  const bed = {
    prefix,
    /** The producer's connection (a shared cluster client on a cluster). */
    get connection() {
      return redis().connection();
    },
    mock: undefined as unknown as MockLlmServer,
    client: undefined as unknown as RlmQueueClient,
    /** Starts a worker process (env knobs: see worker-main.ts) and waits until it is ready. */
    async worker(extra: Record<string, string> = {}): Promise<WorkerProcess> {
      const started = await startWorkerProcess({
        TEST_PREFIX: prefix,
        TEST_MODEL_URL: bed.mock.url,
        ...redis().workerEnv(),
        ...extra,
      });
      workers.push(started);
      return started;
    },
  };
  beforeAll(async () => {
    bed.mock = await startMockLlmServer(mockDefaults);
    bed.client = new RlmQueueClient({ connection: redis().connection(), prefix });
  });
  afterEach(async () => {
    for (const running of workers.splice(0)) {
      running.kill("SIGKILL");
      await running.exited;
    }
    bed.mock.reset();
    bed.mock.configure({ faults: {}, faultKinds: null, ...mockDefaults });
  });
  afterAll(async () => {
    await bed.client?.close();
    await bed.mock?.stop();
    await redis().deleteKeys(prefix);
  });
  return bed;
}

/** Polls a condition on local state (the mock's records), failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
