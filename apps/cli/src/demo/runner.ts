import type { RlmContext, RlmEventListener, RlmResult } from "@rlm/core";
import type { AnalysisEventEntry } from "@rlm/queue";
import { deleteKeysWithPrefix, displayRedisUrl, redisConnection } from "../redis.js";

/**
 * How the demo runs an analysis: in process (`Rlm` facade) or through the queue
 * (producer + an in-process worker over Redis).
 */
export interface DemoRunner {
  /** Shown in the demo's output, e.g. "in-process". */
  readonly mode: string;
  /** True when analyses go through the queue: progress comes as its event stream. */
  readonly viaQueue: boolean;
  run(query: string, context: RlmContext, listener: DemoListener): Promise<RlmResult>;
  close(): Promise<void>;
}

/**
 * Who follows an analysis: engine events (in process, or the queue's iteration events),
 * or the queue's whole event stream (with the progress counts of its sub-calls).
 */
export type DemoListener =
  { onEvent: RlmEventListener } | { onEntry: (entry: AnalysisEventEntry) => void };

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
    viaQueue: false,
    run: (query, context, listener) =>
      rlm.completion(query, context, "onEvent" in listener ? { onEvent: listener.onEvent } : {}),
    close: async () => {},
  };
}

/** Where the queue runner keeps its jobs: a throw-away prefix, deleted by `close`. */
export interface QueueRunnerTarget {
  redisUrl: string;
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
  const connection = redisConnection(target.redisUrl);
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
    mode: `queue (Redis at ${displayRedisUrl(target.redisUrl)}, key prefix ${target.prefix})`,
    viaQueue: true,
    async run(query, context, listener) {
      const { id } = await client.enqueueAnalysis({ query, context });
      const cancel = () => void client.cancel(id).catch(() => {});
      if (signal.aborted) cancel();
      signal.addEventListener("abort", cancel, { once: true });
      try {
        for await (const entry of client.events(id)) {
          const { event } = entry;
          if ("onEntry" in listener) listener.onEntry(entry);
          else if (event.type === "iteration" || event.type === "subcall") {
            listener.onEvent(event.engine);
          }
        }
      } finally {
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
      } finally {
        await deleteKeysWithPrefix(target.redisUrl, target.prefix);
        // A second pass a moment later catches a write that was still in flight when a
        // loaded machine made the drain time out (seen once under a full test run).
        await new Promise((resolve) => setTimeout(resolve, 250));
        await deleteKeysWithPrefix(target.redisUrl, target.prefix);
      }
    },
  };
}
