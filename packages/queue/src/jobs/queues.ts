import { type ConnectionOptions, type DefaultJobOptions, Queue, type Telemetry } from "bullmq";
import type {
  LlmJobData,
  LlmJobResult,
  RootQueueJobData,
  RootQueueJobResult,
} from "./job-types.js";
import { DAY_SECONDS, DEFAULT_PREFIX, queuePrefix } from "../storage/keys.js";
import { QueueName } from "./queue-names.js";
import {
  isRedisClient,
  LOADING_RECHECK_MS,
  promptReconnect,
  type RlmConnection,
} from "../storage/redis-client.js";

/**
 * Where the queue system lives: a Redis connection (one Redis or a cluster) and one
 * prefix, that of this package's own keys; BullMQ's is made from it (`queuePrefix`).
 */
export interface QueueTopology {
  connection: RlmConnection;
  /** Default `rlm`. */
  prefix?: string;
  /**
   * BullMQ telemetry (bullmq-otel's `BullMQOtel`) of the queues that add jobs: a producer
   * span per add, the job's context in its options. Never given to Workers (see
   * `TraceCarrier`). Default none.
   */
  telemetry?: Telemetry;
}

/** Retry and retention of one queue's jobs. */
export interface QueueJobSettings {
  /** Tries per job, the first included. */
  attempts?: number;
  /** First retry delay; doubles each retry (exponential backoff). */
  backoffMs?: number;
  /** Days a completed job stays visible (Bull Board, debugging). */
  keepCompletedDays?: number;
  /** Most completed jobs kept, whatever their age. */
  keepCompletedCount?: number;
  /** Days a failed job stays for inspection and manual retry. */
  keepFailedDays?: number;
}

/**
 * Defaults for `rlm-root`: a root job's own retries re-run only the lost work (the
 * journal replays completed steps), so a few attempts are cheap.
 */
export const ROOT_JOB_DEFAULTS: Required<QueueJobSettings> = {
  attempts: 3,
  backoffMs: 5_000,
  keepCompletedDays: 7,
  keepCompletedCount: 100_000,
  keepFailedDays: 30,
};

/**
 * Defaults for `rlm-llm`: the LLM client retries transient errors itself, so job
 * retries cover lost workers and longer outages. Completed LM jobs are kept as long as
 * completed roots, so an analysis's whole tree stays visible in Bull Board while its
 * root is (correctness never depends on them: results live in the journal).
 */
export const LLM_JOB_DEFAULTS: Required<QueueJobSettings> = {
  attempts: 5,
  backoffMs: 2_000,
  keepCompletedDays: ROOT_JOB_DEFAULTS.keepCompletedDays,
  keepCompletedCount: 1_000_000,
  keepFailedDays: 7,
};

/** BullMQ default job options from settings (missing fields from `defaults`). */
export function defaultJobOptions(
  settings: QueueJobSettings = {},
  defaults: Required<QueueJobSettings> = ROOT_JOB_DEFAULTS,
): DefaultJobOptions {
  const s = { ...defaults, ...stripUndefined(settings) };
  return {
    attempts: s.attempts,
    backoff: { type: "exponential", delay: s.backoffMs },
    removeOnComplete: { age: s.keepCompletedDays * DAY_SECONDS, count: s.keepCompletedCount },
    removeOnFail: { age: s.keepFailedDays * DAY_SECONDS },
  };
}

/**
 * `{ connection, prefix }` for any BullMQ class (Worker, QueueEvents, FlowProducer):
 * the prefix is `queuePrefix(prefix)`, whose hash tag keeps both queues in one slot.
 */
export function bullmqOptions(topology: QueueTopology): {
  connection: ConnectionOptions;
  prefix: string;
} {
  // The cast only bridges a typing gap: ioredis allows `retryStrategy: null`, BullMQ's
  // copy of the options type does not; BullMQ hands the options to ioredis unchanged.
  const given = topology.connection as ConnectionOptions;
  // Options (not a client of the caller's): BullMQ's connections reconnect as promptly as
  // ours, instead of BullMQ's default backoff of up to 20 s (see `promptReconnect`). A
  // cluster client comes from `openCluster`, which sets the same.
  const connection =
    isRedisClient(topology.connection) || "retryStrategy" in given
      ? given
      : { ...given, retryStrategy: promptReconnect, maxLoadingRetryTime: LOADING_RECHECK_MS };
  return { connection, prefix: queuePrefix(topology.prefix ?? DEFAULT_PREFIX) };
}

/** The `rlm-root` queue: top analyses and nested sub-analyses. */
export type RootQueue = Queue<RootQueueJobData, RootQueueJobResult, string>;

/** The `rlm-llm` queue: plain model calls. */
export type LlmQueue = Queue<LlmJobData, LlmJobResult, string>;

/** Opens the `rlm-root` queue with retry and retention defaults. Close it when done. */
export function createRootQueue(topology: QueueTopology, settings?: QueueJobSettings): RootQueue {
  return quiet(
    new Queue(QueueName.root, {
      ...bullmqOptions(topology),
      ...(topology.telemetry ? { telemetry: topology.telemetry } : {}),
      defaultJobOptions: defaultJobOptions(settings, ROOT_JOB_DEFAULTS),
    }),
  );
}

/** Opens the `rlm-llm` queue with retry and retention defaults. Close it when done. */
export function createLlmQueue(topology: QueueTopology, settings?: QueueJobSettings): LlmQueue {
  return quiet(
    new Queue(QueueName.llm, {
      ...bullmqOptions(topology),
      ...(topology.telemetry ? { telemetry: topology.telemetry } : {}),
      defaultJobOptions: defaultJobOptions(settings, LLM_JOB_DEFAULTS),
    }),
  );
}

/**
 * A Queue emits `error` on connection trouble; with no listener Node would throw it and
 * crash the process. Failures still surface as rejected calls (add, getJob…).
 */
function quiet<T extends { on(event: "error", listener: (error: Error) => void): unknown }>(
  queue: T,
): T {
  queue.on("error", () => {});
  return queue;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
