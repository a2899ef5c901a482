import { hostname } from "node:os";
import type { ModelClient, SandboxFactory } from "@rlm/core";
import { createOpenAIModelClient, type PriceTable } from "@rlm/llm";
import { createIsolatedVmSandboxFactory, releaseBufferNow } from "@rlm/sandbox";
import type { CollectGarbage } from "../documents/large-document.js";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { AnalysisReporter } from "../analyses/analysis-reporter.js";
import { AnalysisStore } from "../analyses/analysis-store.js";
import { CallResults } from "../answers/call-results.js";
import { ContextStore } from "../storage/context-store.js";
import { DocumentCache } from "../documents/document-cache.js";
import { EagerBatches } from "../sub-calls/eager-batches.js";
import { FreshBatches } from "../sub-calls/fresh-batches.js";
import { JobName, type LlmQueueJobData, type RootQueueJobData } from "../jobs/job-types.js";
import { DAY_SECONDS, DEFAULT_PREFIX } from "../storage/keys.js";
import { LiveRuns } from "../root-job/live-runs.js";
import {
  createLlmBatchRunner,
  createLlmProcessor,
  type LlmProcessorServices,
} from "../llm-job/llm-processor.js";
import { QueueName } from "../jobs/queue-names.js";
import { closeRedis, openRedis, type RlmConnection } from "../storage/redis-client.js";
import {
  DEFAULT_SUB_CALL_BATCHING,
  type SubCallBatching,
} from "../sub-calls/queue-sub-call-executor.js";
import { CancelWatch } from "../llm-job/cancel-watch.js";
import { RedisCallResults } from "../answers/redis-call-results.js";
import { HeldLocks } from "./held-locks.js";
import { createRootProcessor, type WorkerEngineDefaults } from "../root-job/root-processor.js";
import { bullmqOptions, createLlmQueue, createRootQueue } from "../jobs/queues.js";

/** Which queues a worker process serves. */
export type WorkerRole = "root" | "llm";

/** Options of `startRlmWorker`. */
export interface RlmWorkerOptions {
  connection: RlmConnection;
  /** Key prefix, shared with producers (default `rlm`). */
  prefix?: string;
  /** Default: both. */
  roles?: WorkerRole[];
  /**
   * Work in progress at once: `root` analyses (those waiting for children do not count)
   * and `llm` model calls, across the LM jobs (batches) this process holds.
   */
  concurrency?: { root?: number; llm?: number };
  /** The model endpoint (ignored for a role whose client is given below). */
  model?: {
    baseURL?: string;
    apiKey: string;
    timeoutMs?: number;
    maxAttempts?: number;
    /** USD per 1M tokens, merged over the built-in table (local or unlisted models). */
    prices?: PriceTable;
  };
  /** Client for root turns (default: OpenAI-compatible from `model`, retrying 429s itself). */
  rootModelClient?: ModelClient;
  /** Client for sub-calls (default: OpenAI-compatible from `model`, 429 → queue pause). */
  llmModelClient?: ModelClient;
  /**
   * Engine options used when a job does not set them (the worker's environment, say:
   * `RLM_MAX_ITERATIONS` for every analysis this worker runs without its own).
   */
  defaults?: WorkerEngineDefaults;
  /** Global request rate, across all workers: at most `max` model calls per `durationMs`. */
  limiter?: { max: number; durationMs: number };
  /** How a root worker groups plain sub-calls into LM jobs (default 16 calls, 2 ms). */
  batching?: Partial<SubCallBatching>;
  /**
   * Lock of an active job; a killed worker's job is picked up after about this long
   * plus `stalledIntervalMs`. Default 3000 / 1000 ms: recovery within about 4 s.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Days analysis records, events and journals are kept after they end. Default 7. */
  retentionDays?: number;
  sandboxFactory?: SandboxFactory;
  /**
   * Eager dispatch (default true, for a process with both roles): a plain sub-call starts
   * in the root's process as it is issued while that process has a call slot free, and
   * its LM job is taken by that process as soon as it is added (see `EagerBatches`).
   * False sends every batch through the wait list, to whichever worker takes it first.
   */
  eagerDispatch?: boolean;
  /** Recorded on each job as `processedBy` (Bull Board shows it). Default `host:pid`. */
  name?: string;
  /**
   * Garbage collections while a large document (8 MB or more) is loaded: `"minor"` (the
   * young generation) every 2 MB of its read, `"major"` (the whole heap) before it is
   * decoded and after the sandbox copy. Node's `gc` when the process runs with
   * `--expose-gc`, as `rlm worker` does: `exposedGarbageCollector()` (large-document.ts).
   * A function that ignores `kind` and always collects the whole heap works too, but
   * makes the read slower (see `large-document.ts`).
   *
   * Why: loading leaves about the document's size again in garbage (the socket chunks of
   * the read, the decoded text the sandbox copy was made from), which V8 frees only when
   * its heap next needs room, and a worker waiting on model calls rarely asks: measured
   * on a 10 MB document, peak RSS grew by about 4.7× the document without collections,
   * 2.7–3.3× with the two full ones, 2.5–2.7× with the read's young ones too. Costs two
   * full collections (~15 ms each here) and a scavenge (~1 ms) per 2 MB per large load.
   */
  collectGarbage?: CollectGarbage;
}

/** A running worker process's queues; `close` drains them. */
export interface RlmWorker {
  readonly workers: Worker[];
  /**
   * Live REPL statistics: resumes served without a replay (`hits`) and with one
   * (`misses`; an analysis's first run counts as one), times a run went on after its
   * children without leaving its slot (`held`), runs kept for a resume (`size`), and
   * sub-call answers handed to a run of this process as they were journaled
   * (`liveAnswers`), and LM batches whose calls started here as they were issued
   * (`eagerBatches`, see `EagerBatches`), of which this process took the job as active
   * (`eagerJobsTaken`).
   */
  liveRunStats(): {
    hits: number;
    misses: number;
    held: number;
    size: number;
    liveAnswers: number;
    eagerBatches: number;
    eagerJobsTaken: number;
  };
  /**
   * Stops taking jobs and waits for the jobs in progress, at most `timeoutMs` (default
   * 30 s); past it, remaining jobs are abandoned to be picked up by another worker
   * (their completed steps are journaled, so nothing is paid twice).
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Starts root and/or LM workers in this process. */
export async function startRlmWorker(options: RlmWorkerOptions): Promise<RlmWorker> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const topology = { connection: options.connection, prefix };
  const roles = options.roles ?? ["root", "llm"];
  // Auto-pipelining: the journal writes, memo reads and claims a fan-out issues in one
  // tick leave as one socket write instead of one each.
  const redisClient = openRedis(
    options.connection instanceof Redis
      ? options.connection
      : { enableAutoPipelining: true, ...options.connection },
  );
  const redis = redisClient.redis;
  const retentionSeconds = (options.retentionDays ?? 7) * DAY_SECONDS;
  const collectGarbage = bestEffort(options.collectGarbage);
  const contexts = new ContextStore({
    redis,
    prefix,
    releaseBuffer: releaseBufferNow,
    ...(collectGarbage ? { collectGarbage } : {}),
  });
  const store = new AnalysisStore({ redis, prefix, ttlSeconds: retentionSeconds });
  const rootQueue = createRootQueue(topology);
  const llmQueue = createLlmQueue(topology);
  const sandboxFactory = options.sandboxFactory ?? createIsolatedVmSandboxFactory();
  const lockDuration = options.lockDurationMs ?? 3_000;
  const heldLocks = new HeldLocks(lockDuration);
  const documents = new DocumentCache(sandboxFactory, undefined, collectGarbage, (bytes) =>
    heldLocks.beforeBlocking(bytes),
  );
  const live = new LiveRuns();
  // Answers cross processes too: a run gets its fan-out's answers as they come wherever
  // the LM jobs ran (budgets, live cells), not only once BullMQ resumes it.
  const remoteResults = new RedisCallResults(redis, prefix);
  const callResults = new CallResults(remoteResults);
  // LM jobs running in this process: a root job whose children all run here keeps its
  // slot while they are answered (only when this process has both roles).
  const llmJobsHere = new Set<string>();
  const freshBatches = new FreshBatches();
  const rootConcurrency = options.concurrency?.root ?? 8;
  const stalledInterval = options.stalledIntervalMs ?? 1_000;
  const workerSettings = {
    ...bullmqOptions(topology),
    lockDuration,
    stalledInterval,
    // Several kills in a row must not fail an analysis: its journal makes retries cheap.
    maxStalledCount: 10,
    name: options.name ?? `${hostname()}:${process.pid}`,
  };
  const workers: Worker[] = [];

  const modelFor = (retryRateLimits: boolean): ModelClient => {
    if (!options.model) throw new Error("startRlmWorker needs `model` or explicit model clients");
    return createOpenAIModelClient({
      apiKey: options.model.apiKey,
      ...(options.model.baseURL === undefined ? {} : { baseURL: options.model.baseURL }),
      ...(options.model.timeoutMs === undefined ? {} : { timeoutMs: options.model.timeoutMs }),
      ...(options.model.prices === undefined ? {} : { prices: options.model.prices }),
      retry: {
        retryRateLimits,
        ...(options.model.maxAttempts === undefined
          ? {}
          : { maxAttempts: options.model.maxAttempts }),
      },
    });
  };

  // The LM side first: root runs of this process start their batches on its call slots.
  const llmHolder: { worker?: Worker } = {};
  const callConcurrency = options.concurrency?.llm ?? 32;
  const cancelWatch = new CancelWatch({
    callsUnwanted: (ids) => Promise.all(ids.map((id) => store.callsUnwanted(id))),
  });
  const llmServices: LlmProcessorServices | undefined = roles.includes("llm")
    ? {
        cancelWatch,
        heldLocks,
        redis,
        prefix,
        contexts,
        store,
        model: options.llmModelClient ?? modelFor(false),
        worker: () => llmHolder.worker,
        callConcurrency,
        callResults,
        jobsHere: llmJobsHere,
        ...(roles.includes("root") ? { freshBatches } : {}),
        ...(options.limiter ? { limiter: options.limiter } : {}),
      }
    : undefined;
  const llmRunner = llmServices ? createLlmBatchRunner(llmServices) : undefined;
  const eager =
    llmRunner && roles.includes("root") && options.eagerDispatch !== false
      ? new EagerBatches({
          redis,
          llmQueue,
          runner: llmRunner,
          jobsHere: llmJobsHere,
          lockDurationMs: lockDuration,
          heldLocks,
          workerName: workerSettings.name,
        })
      : undefined;

  if (roles.includes("root")) {
    const processor = createRootProcessor({
      redis,
      prefix,
      contexts,
      store,
      rootQueue,
      llmQueue,
      model: options.rootModelClient ?? modelFor(true),
      sandboxFactory,
      documents,
      live,
      callResults,
      heldLocks,
      cancelWatch,
      defaults: options.defaults ?? {},
      retentionSeconds,
      batching: { ...DEFAULT_SUB_CALL_BATCHING, ...options.batching },
      ...(roles.includes("llm") ? { hold: { llmJobsHere, rootConcurrency }, freshBatches } : {}),
      ...(eager ? { eager } : {}),
    });
    const rootWorker = new Worker<RootQueueJobData>(QueueName.root, processor, {
      ...workerSettings,
      concurrency: rootConcurrency,
    });
    // A root job that failed for good (attempts used up, unrecoverable, stalled too
    // often) never reached the engine's own ending: record it, or waiters wait for ever.
    rootWorker.on("failed", (job, error) => {
      if (!job || job.name !== JobName.root) return;
      void (async () => {
        if (!(await job.isFailed())) return; // another attempt will follow
        await new AnalysisReporter({
          redis,
          analysisId: job.data.analysisId,
          prefix,
          retentionSeconds,
        }).fail(error);
      })().catch(() => undefined);
    });
    workers.push(rootWorker);
  }
  if (llmServices && llmRunner) {
    const processor = createLlmProcessor(llmServices, llmRunner);
    // One job slot per call slot: a process holds at most as many batches as it has
    // calls in flight, and the calls themselves share the process's call slots.
    const llmWorker = new Worker<LlmQueueJobData>(QueueName.llm, processor, {
      ...workerSettings,
      concurrency: callConcurrency,
    });
    llmHolder.worker = llmWorker;
    workers.push(llmWorker);
  }
  for (const worker of workers) {
    // Errors are reported through job failure; a listener keeps BullMQ from printing.
    worker.on("error", () => {});
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  return {
    workers,
    liveRunStats: () => ({
      hits: live.hits,
      misses: live.misses,
      held: live.held,
      size: live.size,
      liveAnswers: callResults.delivered,
      eagerBatches: eager?.started ?? 0,
      eagerJobsTaken: eager?.claimed ?? 0,
    }),
    async close({ timeoutMs = 30_000 } = {}) {
      // Eager batches are waited for once no root job runs here any more (a root run that
      // is finishing may still seal its last batch).
      const graceful = Promise.all(
        workers.map((worker) =>
          worker.name === QueueName.root
            ? worker
                .close()
                .catch(() => undefined)
                .then(() => eager?.close())
            : worker.close(),
        ),
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([graceful.then(() => "closed" as const), timedOut]);
      if (timer) clearTimeout(timer);
      if (outcome === "timeout") await Promise.all(workers.map((worker) => worker.close(true)));
      live.clear();
      documents.clear();
      await Promise.all([rootQueue.close(), llmQueue.close()]);
      await remoteResults.close();
      await closeRedis(redisClient);
    },
  };
}

/**
 * The host's collection as an aid, never a failure: a collector that throws must not fail
 * a document's read or leave a loaded document unreleased.
 */
function bestEffort(collect: CollectGarbage | undefined): CollectGarbage | undefined {
  if (!collect) return undefined;
  return (kind) => {
    try {
      collect(kind);
    } catch {
      // Memory is then freed when V8 next collects on its own.
    }
  };
}
