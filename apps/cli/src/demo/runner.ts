import type { RlmContext, RlmResult } from "@rlm/core";
import { ProgressReporter } from "../progress.js";
import { QueueProgress } from "../queue-progress.js";
import { deleteKeysWithPrefix, displayRedis, queueConnection, type RedisTarget } from "../redis.js";

/**
 * How the demo runs an analysis: in process (`Rlm` facade) or through the queue
 * (producer + an in-process worker over Redis).
 */
export interface DemoRunner {
  /** Shown in the demo's output, e.g. "in-process". */
  readonly mode: string;
  /** Runs one analysis, its progress on stderr under `label`. */
  run(query: string, context: RlmContext, label: string): Promise<RlmResult>;
  close(): Promise<void>;
}

/** Model endpoint the runner talks to (the demo's mock LLM). */
export interface RunnerEndpoint {
  baseURL: string;
  apiKey: string;
  rootModel: string;
  subModel: string;
}

/** Runs each analysis with the `Rlm` facade in this process. */
export async function createInProcessRunner(
  endpoint: RunnerEndpoint,
  signal: AbortSignal,
): Promise<DemoRunner> {
  // Loaded lazily, like in `rlm run`: it pulls in isolated-vm.
  const { Rlm } = await import("rlm-queue");
  const rlm = new Rlm({ ...endpoint, signal });
  return {
    mode: "in-process",
    async run(query, context, label) {
      const progress = new ProgressReporter(process.stderr, label);
      try {
        return await rlm.completion(query, context, { onEvent: progress.onEvent });
      } finally {
        progress.finish();
      }
    },
    close: async () => {},
  };
}

/** Where the queue runner keeps its jobs: a throw-away prefix, deleted by `close`. */
export interface QueueRunnerTarget {
  redis: RedisTarget;
  prefix: string;
}

/** How long the demo's worker may drain on close. */
const DEMO_DRAIN_MS = 5_000;

/**
 * Runs each analysis through the queue: a root and LM worker in this process against
 * the endpoint, a producer that enqueues it and follows its event stream. On abort the
 * analysis in progress is cancelled and its (partial) result returned. `close` stops
 * the worker and deletes every key of the prefix.
 */
export async function createQueueRunner(
  endpoint: RunnerEndpoint,
  target: QueueRunnerTarget,
  signal: AbortSignal,
): Promise<DemoRunner> {
  const { RlmQueueClient, startRlmWorker } = await import("@rlm/queue");
  const redis = queueConnection(target.redis);
  const { connection } = redis;
  const worker = await startRlmWorker({
    connection,
    prefix: target.prefix,
    roles: ["root", "llm"],
    model: { baseURL: endpoint.baseURL, apiKey: endpoint.apiKey },
    defaults: { rootModel: endpoint.rootModel, subModel: endpoint.subModel },
    name: `rlm-demo:${process.pid}`,
  });
  const client = new RlmQueueClient({ connection, prefix: target.prefix });
  return {
    mode: `queue (Redis at ${displayRedis(target.redis)}, key prefix ${target.prefix})`,
    async run(query, context, label) {
      const { id } = await client.enqueueAnalysis({ query, context });
      const cancel = () => void client.cancel(id).catch(() => {});
      if (signal.aborted) cancel();
      signal.addEventListener("abort", cancel, { once: true });
      // The queue's own display: the sub-calls are counted in the analysis's progress.
      const progress = new QueueProgress(process.stderr, label);
      progress.start();
      try {
        for await (const entry of client.events(id)) progress.onEntry(entry);
      } finally {
        progress.finish();
        signal.removeEventListener("abort", cancel);
      }
      const view = await client.getAnalysis(id);
      if (view?.result !== undefined) return view.result;
      const reason = view?.error ? `${view.error.code}: ${view.error.message}` : view?.status;
      throw new Error(`analysis ${id} ended without a result (${reason ?? "record missing"})`);
    },
    async close() {
      try {
        await Promise.allSettled([client.close(), worker.close({ timeoutMs: DEMO_DRAIN_MS })]);
        await redis.close();
      } finally {
        await deleteKeysWithPrefix(target.redis, target.prefix);
        // A second pass a moment later catches a write that was still in flight when a
        // loaded machine made the drain time out (seen once under a full test run).
        await new Promise((resolve) => setTimeout(resolve, 250));
        await deleteKeysWithPrefix(target.redis, target.prefix);
      }
    },
  };
}
