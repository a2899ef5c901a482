import {
  type EngineOptions,
  type ModelClient,
  resolveEngineOptions,
  type SandboxFactory,
} from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import type { AnalysisStore } from "../analyses/analysis-store.js";
import type { AnswerWriter } from "../answers/answer-writer.js";
import type { DocumentCache } from "../documents/document-cache.js";
import type { RootQueueJobData } from "../jobs/job-types.js";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";
import type { CancelWatch } from "../answers/cancel-watch.js";
import type { ContextStore } from "../storage/context-store.js";
import type { CallLane } from "../sub-calls/call-lane.js";
import type { SubCallBatching } from "../sub-calls/overflow-jobs.js";
import type { HeldLocks } from "../jobs/held-locks.js";
import type { Observer, WorkerObservation } from "../observing/observations.js";
import type { RootSlots } from "./root-slots.js";

/** What the root processor needs from its worker process. */
export interface RootProcessorServices {
  redis: RedisClient;
  prefix: string;
  contexts: ContextStore;
  store: AnalysisStore;
  rootQueue: RootQueue;
  llmQueue: LlmQueue;
  /** Client for root-model turns (retries, including rate limits, happen in it). */
  model: ModelClient;
  sandboxFactory: SandboxFactory;
  documents: DocumentCache;
  /** Plain calls in this process and the live answers (see `CallLane`). */
  lane: CallLane;
  /** Journals a nested analysis's result and sends it to its parent's run. */
  writer: AnswerWriter;
  /** Stops a run (and its calls here) once its analysis is cancelled or has ended. */
  cancelWatch?: CancelWatch;
  /** The job locks of this process, extended before a large document blocks the thread. */
  heldLocks?: HeldLocks;
  /** This process's root slots (default: as many as runs, so waiting runs never park). */
  slots?: RootSlots;
  /**
   * How long a run waiting for child jobs only keeps its job before it gives it up
   * (default `PARK_AFTER_MS`, 10 s; see `driveRun`).
   */
  parkAfterMs?: number;
  /** Worker-level defaults under each job's options (models from the environment, say). */
  defaults: WorkerEngineDefaults;
  /** Retention of record, events and journal after the analysis ends. */
  retentionSeconds?: number;
  /** How plain sub-calls without a slot here are grouped into LM jobs. */
  batching?: SubCallBatching;
  /** Counts of what the runs of this process did (for statistics). */
  stats?: RootRunStats;
  /** Told of the runs' engine events and of the analyses that end here (metrics). */
  observe?: Observer<WorkerObservation>;
  /** This process's name, on its runs' spans. */
  workerName?: string;
}

/** What the root runs of a process did, counted. */
export interface RootRunStats {
  /** Runs built from the journal after an earlier run of their job (a resume, a crash). */
  rebuilt: number;
  /** Times a run gave its slot up to wait for its children (waiting-children). */
  parked: number;
}

/** Engine options a worker applies to the jobs that do not set them. */
export interface WorkerEngineDefaults {
  rootModel?: string;
  subModel?: string;
  maxIterations?: number;
  maxDepth?: number;
  /** Sub-calls in flight for one analysis's own process (nested runs; see the README). */
  subConcurrency?: number;
}

/**
 * In queue mode a cell's wall-clock limit also covers time its sub-calls wait in the
 * queue behind other work, so it defaults to much longer than in process; runaway
 * CPU is still stopped by the CPU limit.
 */
export const QUEUE_CELL_TIMEOUT_MS = 15 * 60_000;

/** A job's engine options over the worker's defaults. */
export function engineOptions(
  services: RootProcessorServices,
  data: RootQueueJobData,
): EngineOptions {
  const given = data.options;
  const defaults = Object.fromEntries(
    Object.entries(services.defaults).filter(([, value]) => value !== undefined && value !== ""),
  );
  return resolveEngineOptions({
    ...defaults,
    ...given,
    limits: { cellTimeoutMs: QUEUE_CELL_TIMEOUT_MS, ...given.limits },
  });
}
