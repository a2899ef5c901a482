import { hostname } from "node:os";
import { InvalidOptionsError, type ModelClient } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { createIsolatedVmSandboxFactory, releaseBufferNow } from "@rlm/sandbox";
import { MetricsTime, Worker } from "bullmq";
import { AnalysisReporter } from "../analyses/analysis-reporter.js";
import { AnalysisStore } from "../analyses/analysis-store.js";
import { AnswerBus } from "../answers/answer-bus.js";
import { AnswerChannel, shardedPubSub } from "../answers/answer-channel.js";
import { AnswerWriter } from "../answers/answer-writer.js";
import { CancelWatch } from "../answers/cancel-watch.js";
import { DocumentCache } from "../documents/document-cache.js";
import type { CollectGarbage } from "../documents/large-document.js";
import { isNestedJobData, type LlmJobData, type RootQueueJobData } from "../jobs/job-types.js";
import { QueueName } from "../jobs/queue-names.js";
import {
  bullmqOptions,
  createLlmQueue,
  createRootQueue,
  LLM_JOB_DEFAULTS,
} from "../jobs/queues.js";
import { CallAdmission } from "../llm-job/call-admission.js";
import { CallSlots } from "../llm-job/call-slots.js";
import { LlmJobPuller } from "../llm-job/llm-job-puller.js";
import { LocalCalls } from "../llm-job/local-calls.js";
import { PARK_AFTER_MS } from "../root-job/drive-run.js";
import { createRootProcessor } from "../root-job/root-processor.js";
import type { RootRunStats } from "../root-job/root-services.js";
import { RootSlots } from "../root-job/root-slots.js";
import { ContextStore } from "../storage/context-store.js";
import { DAY_SECONDS, DEFAULT_PREFIX } from "../storage/keys.js";
import { closeRedis, isRedisClient, openRedis } from "../storage/redis-client.js";
import type { CallLane } from "../sub-calls/call-lane.js";
import { DEFAULT_SUB_CALL_BATCHING } from "../sub-calls/overflow-jobs.js";
import { HeldLocks } from "../jobs/held-locks.js";
import { notify } from "../observing/observations.js";
import type { RlmWorker, RlmWorkerOptions } from "./worker-options.js";

/** Starts root and/or LM workers in this process. */
export async function startRlmWorker(options: RlmWorkerOptions): Promise<RlmWorker> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const topology = {
    connection: options.connection,
    prefix,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  };
  const observe = options.observe;
  const roles = options.roles ?? ["root", "llm"];
  const parkAfterMs = options.parkAfterMs ?? PARK_AFTER_MS;
  if (!Number.isFinite(parkAfterMs) || parkAfterMs < 0) {
    throw new InvalidOptionsError(`parkAfterMs must be a number of ms ≥ 0, got ${parkAfterMs}`);
  }
  // Auto-pipelining: the journal writes and reads a fan-out issues in one tick leave as
  // one socket write instead of one each (`openCluster` turns it on for a cluster).
  const redisClient = openRedis(
    isRedisClient(options.connection)
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
  // The live way back, and the stop notices: one subscriber connection per process.
  const channel = new AnswerChannel(redis, prefix, { sharded: await shardedPubSub(redis) });
  const bus = new AnswerBus(channel);
  const writer = new AnswerWriter({ redis, prefix, bus, channel });
  const cancelWatch = new CancelWatch({
    callsUnwanted: (ids) => Promise.all(ids.map((id) => store.callsUnwanted(id))),
  });
  await channel.onStop((analysisId) => cancelWatch.cancel(analysisId));
  const workerSettings = {
    ...bullmqOptions(topology),
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? 1_000,
    // Several kills in a row must not fail an analysis: its journal makes retries cheap.
    maxStalledCount: 10,
    name: options.name ?? `${hostname()}:${process.pid}`,
    // BullMQ's own counts of completed and failed jobs per minute (`Queue.getMetrics`,
    // which the API's /metrics reads), jobs fetched by hand included.
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
  };
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
  const workers: Worker[] = [];

  // The LM side: one set of call slots for the calls of this process's root runs and
  // for the LM jobs it takes from the queue.
  let puller: LlmJobPuller | undefined;
  let localCalls: LocalCalls | undefined;
  if (roles.includes("llm")) {
    const slots = new CallSlots(Math.max(1, options.concurrency?.llm ?? 32));
    const runner = {
      model: options.llmModelClient ?? modelFor(false),
      admission: new CallAdmission({
        redis,
        prefix,
        ...(options.limiter ? { limiter: options.limiter } : {}),
      }),
      writer,
      ...(observe ? { observe } : {}),
    };
    if (roles.includes("root") && options.eagerDispatch !== false) {
      localCalls = new LocalCalls({
        slots,
        runner,
        cancelWatch,
        attempts: LLM_JOB_DEFAULTS.attempts,
        backoffMs: LLM_JOB_DEFAULTS.backoffMs,
        llmWorkers: () => llmQueue.getWorkersCount(),
      });
    }
    // No processor: jobs are fetched by hand, only while a call slot is free.
    const llmWorker = new Worker<LlmJobData>(QueueName.llm, null, workerSettings);
    puller = new LlmJobPuller({
      worker: llmWorker,
      slots,
      runner,
      redis,
      prefix,
      contexts,
      cancelWatch,
      holdLock: (job, token) => heldLocks.hold(job, token),
      lockDurationMs: lockDuration,
    });
    workers.push(llmWorker);
  }

  // The root side.
  const rootSlots = new RootSlots(options.concurrency?.root ?? 8);
  const runStats: RootRunStats = { rebuilt: 0, parked: 0 };
  let rootWorker: Worker<RootQueueJobData> | undefined;
  if (roles.includes("root")) {
    const lane: CallLane = {
      runHere: (header, call) => localCalls?.runHere(header, call),
      listen: (analysisId, listener) => bus.listen(analysisId, listener),
    };
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
      lane,
      writer,
      cancelWatch,
      heldLocks,
      slots: rootSlots,
      parkAfterMs,
      defaults: options.defaults ?? {},
      retentionSeconds,
      batching: { ...DEFAULT_SUB_CALL_BATCHING, ...options.batching },
      stats: runStats,
      workerName: workerSettings.name,
      ...(observe ? { observe } : {}),
    });
    rootWorker = new Worker<RootQueueJobData>(QueueName.root, processor, {
      ...workerSettings,
      // Waiting runs keep their jobs: the process holds more jobs than runs that step.
      concurrency: rootSlots.jobLimit,
    });
    // A lock that could not be renewed (the process was stalled past it, or Redis lost
    // the key) may be another worker's already: that job's run stops, and records nothing.
    const worker = rootWorker;
    rootWorker.on("lockRenewalFailed", (jobIds) => {
      for (const jobId of jobIds) {
        if (worker.cancelJob(jobId, "lock lost")) notify(observe, { type: "lock_lost", jobId });
      }
    });
    // A root job that failed for good (attempts used up, unrecoverable, stalled too
    // often) never reached the engine's own ending: record it, or waiters wait for ever.
    rootWorker.on("failed", (job, error) => {
      if (!job || isNestedJobData(job.data)) return;
      const analysisId = job.data.analysisId;
      void (async () => {
        if (!(await job.isFailed())) return; // another attempt will follow
        const reporter = new AnalysisReporter({ redis, analysisId, prefix, retentionSeconds });
        if (await reporter.fail(error)) {
          notify(observe, { type: "analysis_ended", analysisId, status: "failed" });
        }
      })().catch(() => undefined);
    });
    workers.unshift(rootWorker);
  }
  for (const worker of workers) {
    // Errors are reported through job failure; a listener keeps BullMQ from printing.
    worker.on("error", () => {});
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  puller?.start();

  return {
    workers,
    runStats: () => ({
      liveAnswers: bus.delivered,
      callsHere: localCalls?.started ?? 0,
      llmJobsTaken: puller?.taken ?? 0,
      llmJobsChained: puller?.chained ?? 0,
      rebuilt: runStats.rebuilt,
      parked: runStats.parked,
    }),
    async close({ timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      // Runs waiting for child jobs give their slots up at once; the others go on, and
      // the LM jobs and calls they wait for with them, until the deadline.
      rootSlots.close();
      const rootClosed = rootWorker?.close().catch(() => undefined);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([rootClosed?.then(() => "closed" as const), timedOut]);
      if (timer) clearTimeout(timer);
      if (outcome === "timeout") await rootWorker?.close(true).catch(() => undefined);
      await puller?.close(Math.max(0, deadline - Date.now()));
      documents.clear();
      await Promise.all([rootQueue.close(), llmQueue.close()]);
      await channel.close();
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
