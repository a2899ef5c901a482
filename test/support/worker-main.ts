// A worker process for the queue tests: `startRlmWorker` configured from the env the
// test sets, printing "ready" once its queues listen. Kept apart from the CLI so tests
// control every knob (prefix, concurrency, lock timings).
import { openCluster, startRlmWorker } from "@rlm/queue";

const env = process.env;
// TEST_CLUSTER_NODES (host:port,…) and TEST_CLUSTER_PASSWORD: a Redis Cluster, as
// REDIS_CLUSTER_NODES in the CLI.
const cluster = env.TEST_CLUSTER_NODES
  ? openCluster({
      nodes: env.TEST_CLUSTER_NODES.split(",").map((node) => {
        const [host = "", port = ""] = node.split(":");
        return { host, port: Number(port) };
      }),
      ...(env.TEST_CLUSTER_PASSWORD ? { password: env.TEST_CLUSTER_PASSWORD } : {}),
    })
  : undefined;
const worker = await startRlmWorker({
  connection: cluster ?? { host: "127.0.0.1", port: Number(env.TEST_REDIS_PORT ?? 6379) },
  prefix: env.TEST_PREFIX ?? "rlm-test",
  roles: (env.TEST_ROLES ?? "root,llm").split(",") as Array<"root" | "llm">,
  concurrency: {
    root: Number(env.TEST_ROOT_CONCURRENCY ?? 4),
    llm: Number(env.TEST_LLM_CONCURRENCY ?? 20),
  },
  model: {
    baseURL: env.TEST_MODEL_URL ?? "",
    apiKey: "test-key",
    timeoutMs: 5_000,
    maxAttempts: Number(env.TEST_MAX_ATTEMPTS ?? 4),
  },
  defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  ...(env.TEST_BATCH_CALLS ? { batching: { maxCalls: Number(env.TEST_BATCH_CALLS) } } : {}),
  lockDurationMs: Number(env.TEST_LOCK_MS ?? 2_000),
  stalledIntervalMs: Number(env.TEST_STALLED_MS ?? 1_000),
  ...(env.TEST_LIMIT_MAX
    ? {
        limiter: {
          max: Number(env.TEST_LIMIT_MAX),
          durationMs: Number(env.TEST_LIMIT_MS ?? 1_000),
        },
      }
    : {}),
});
process.stdout.write("ready\n");
const stop = async () => {
  await worker.close({ timeoutMs: Number(env.TEST_DRAIN_MS ?? 5_000) });
  await cluster?.quit();
  process.stdout.write("drained\n");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
