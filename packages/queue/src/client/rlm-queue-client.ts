import { RlmError, type RlmResult, resolveEngineOptions, SpanAttributes } from "@rlm/core";
import {
  type AnalysisEventEntry,
  AnalysisEvents,
  type SubscribeOptions,
} from "../analyses/analysis-events.js";
import {
  AnalysisIndex,
  type AnalysisPage,
  type ListAnalysesQuery,
} from "../analyses/analysis-index.js";
import { AnalysisStore } from "../analyses/analysis-store.js";
import {
  type AnalysisRecord,
  type AnalysisStatus,
  type AnalysisView,
  isTerminalStatus,
  toAnalysisView,
} from "../analyses/analysis-types.js";
import { ContextStore } from "../storage/context-store.js";
import { QueueErrorCode } from "../errors.js";
import { SessionClient } from "../sessions/session-client.js";
import { type EnqueueAnalysisInput, mergeOptions, validateInput } from "./enqueue-input.js";
import { requireRecord, waitForResult } from "./wait-for-result.js";
import { RootJobs } from "./root-jobs.js";
import {
  inProducerSpan,
  JobSpanAttributes,
  JobSpanNames,
  traceCarrier,
} from "../observing/job-trace.js";
import { notify, type Observer, type ProducerObservation } from "../observing/observations.js";

export type { EnqueueAnalysisInput } from "./enqueue-input.js";
import type { RootJobData, SerializableEngineOptions } from "../jobs/job-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS } from "../storage/keys.js";
import { closeRedis, type OwnedRedis, openRedis } from "../storage/redis-client.js";
import {
  createRootQueue,
  type QueueJobSettings,
  type QueueTopology,
  type RootQueue,
} from "../jobs/queues.js";

/** Options of an `RlmQueueClient`. */
export interface RlmQueueClientOptions extends QueueTopology {
  /** Engine options applied under each analysis's own (`budgets`/`limits` merged per field). */
  defaultOptions?: SerializableEngineOptions;
  /** Lifetime of stored contexts. Default 7 days. */
  contextTtlSeconds?: number;
  /** How long records, events and idempotency keys stay after their last change. Default 7 days. */
  retentionSeconds?: number;
  /** Retry and retention of root jobs. */
  rootJobs?: QueueJobSettings;
  /** Retries (8 tries from 5 s, doubling: about 10 minutes) and retention of webhook deliveries. */
  webhookJobs?: QueueJobSettings;
  /** Told of each analysis enqueued and each cancelled while queued (for metrics). */
  observe?: Observer<ProducerObservation>;
}

/** What `enqueueAnalysis` returns. */
export interface EnqueuedAnalysis {
  id: string;
  status: AnalysisStatus;
  /** True when the idempotency key was already bound: nothing new was enqueued. */
  deduplicated: boolean;
}

/** What `cancel` did. */
export type CancelOutcome =
  /** The analysis was still queued: its job was removed and it is now `cancelled`. */
  | "cancelled"
  /** The analysis is running: its worker stops at its next check of the flag. */
  | "requested"
  /** It had completed, failed or been cancelled already. */
  | "already_finished"
  | "not_found";

/**
 * The producer side of the queue: enqueue analyses, read their state, follow their
 * events, wait for results, cancel them.
 *
 * ```ts
 * const client = new RlmQueueClient({ connection: { host: "127.0.0.1", port: 6379 } });
 * const { id } = await client.enqueueAnalysis({ query: "Who wins?", context: book });
 * const result = await client.waitForResult(id, { timeoutMs: 600_000 });
 * await client.close();
 * ```
 */
export class RlmQueueClient {
  readonly prefix: string;
  /** Sessions: questions over one stored document whose REPL carries over. */
  readonly sessions: SessionClient;
  private readonly connection: OwnedRedis;
  private readonly queue: RootQueue;
  private readonly rootJobs: RootJobs;
  private readonly index: AnalysisIndex;
  private readonly contexts: ContextStore;
  private readonly analyses: AnalysisStore;
  private readonly analysisEvents: AnalysisEvents;
  private readonly defaultOptions: SerializableEngineOptions;
  private readonly observe: Observer<ProducerObservation> | undefined;

  constructor(options: RlmQueueClientOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.connection = openRedis(options.connection);
    const redis = this.connection.redis;
    const ttlSeconds = options.retentionSeconds ?? DEFAULT_TTL_SECONDS;
    this.contexts = new ContextStore({
      redis,
      prefix: this.prefix,
      ttlSeconds: options.contextTtlSeconds ?? DEFAULT_TTL_SECONDS,
    });
    this.analyses = new AnalysisStore({ redis, prefix: this.prefix, ttlSeconds });
    this.analysisEvents = new AnalysisEvents({ redis, prefix: this.prefix, ttlSeconds });
    this.index = new AnalysisIndex({ redis, prefix: this.prefix, ttlSeconds });
    const topology = {
      connection: options.connection,
      prefix: this.prefix,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    };
    this.queue = createRootQueue(topology, options.rootJobs);
    this.rootJobs = new RootJobs(this.queue, topology, options.rootJobs, options.webhookJobs);
    this.defaultOptions = options.defaultOptions ?? {};
    this.observe = options.observe;
    this.sessions = new SessionClient({
      redis,
      prefix: this.prefix,
      queue: this.queue,
      contexts: this.contexts,
      analyses: this.analyses,
      defaultOptions: this.defaultOptions,
      ttlSeconds,
    });
  }

  /**
   * Validates the input, stores the context once (content-addressed), creates the
   * analysis record and adds the root job (job id = analysis id) to `rlm-root`, with
   * its webhook's delivery job as its parent when `webhook` is given (see `RootJobs`).
   * Throws `invalid_input` for a bad query/context/key, `invalid_options` for bad options.
   *
   * Safe to retry with the same `idempotencyKey`: if an earlier call created the
   * record but failed before adding the job, the retry adds it.
   */
  async enqueueAnalysis(input: EnqueueAnalysisInput): Promise<EnqueuedAnalysis> {
    // The analysis's spans, in every worker, are children of this one, itself a child of
    // the caller's (the API's request, say): one trace per analysis.
    return inProducerSpan(
      JobSpanNames.enqueue,
      { [JobSpanAttributes.system]: "bullmq" },
      async (span) => {
        const enqueued = await this.#enqueue(input);
        span.setAttribute(SpanAttributes.analysisId, enqueued.id);
        if (enqueued.deduplicated) span.setAttribute("rlm.deduplicated", true);
        return enqueued;
      },
    );
  }

  async #enqueue(input: EnqueueAnalysisInput): Promise<EnqueuedAnalysis> {
    validateInput(input);
    const options = mergeOptions(this.defaultOptions, input.options ?? {});
    const resolved = resolveEngineOptions(options);
    const { idempotencyKey } = input;
    if (idempotencyKey !== undefined) {
      // Fast path: a known key must not cost another upload of a large document.
      const existing = await this.analyses.findByIdempotencyKey(idempotencyKey);
      if (existing !== null) return this.deduplicated(existing);
    }
    const contextRef = await this.contexts.put(input.context);
    const { id, created, createdAt } = await this.analyses.create({
      query: input.query,
      contextRef,
      options,
      maxIterations: resolved.maxIterations,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(input.webhook !== undefined ? { webhook: { url: input.webhook.url } } : {}),
    });
    if (!created) return this.deduplicated(id);
    const trace = traceCarrier();
    const data: RootJobData = {
      analysisId: id,
      query: input.query,
      contextRef,
      options,
      depth: 0,
      createdAt,
      ...(trace ? { trace } : {}),
    };
    await this.rootJobs.add(data, input.webhook && { url: input.webhook.url });
    notify(this.observe, { type: "analysis_enqueued", analysisId: id, deduplicated: false });
    return { id, status: "queued", deduplicated: false };
  }

  /**
   * Top analyses, newest first, a page at a time (`AnalysisIndex`): by status, created
   * since a time, `limit` (1–100, default 20) per page, `nextCursor` to go on. Throws
   * `invalid_input` for a bad limit or cursor.
   */
  async listAnalyses(query: ListAnalysesQuery = {}): Promise<AnalysisPage> {
    return this.index.page(query);
  }

  /** The analysis as the API shows it, or null for an unknown (or expired) id. */
  async getAnalysis(id: string): Promise<AnalysisView | null> {
    const record = await this.analyses.get(id);
    return record ? toAnalysisView(record) : null;
  }

  /**
   * Resolves with the result once the analysis completes. Rejects with `RlmError`
   * `timeout` (retryable: the analysis may still finish), `AnalysisFailedError`
   * (`analysis_failed`), `CancelledError` (`cancelled`) or `not_found`.
   */
  async waitForResult(id: string, options: { timeoutMs: number }): Promise<RlmResult> {
    return waitForResult(this.analyses, this.analysisEvents, id, options.timeoutMs);
  }

  /**
   * Cancels an analysis. A queued one is removed from `rlm-root` and marked
   * `cancelled` at once; a running one is flagged, and its worker stops at its next
   * check (`isCancelRequested`).
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const record = await this.analyses.get(id);
    if (!record) return "not_found";
    if (isTerminalStatus(record.status)) return "already_finished";
    const flagged = await this.analyses.requestCancel(id);
    if (flagged === "missing") return "not_found";
    if (flagged === "refused") return "already_finished";
    // `remove` refuses a job a worker holds (locked): that one sees the flag instead.
    if (record.status === "queued" && (await this.queue.remove(id)) === 1) {
      const outcome = await this.analyses.transition(id, {
        from: ["queued"],
        status: "cancelled",
        event: { type: "cancelled", reason: "cancelled while queued" },
      });
      if (outcome === "updated") {
        notify(this.observe, { type: "analysis_ended", analysisId: id, status: "cancelled" });
        return "cancelled";
      }
    }
    const status = await this.analyses.getStatus(id);
    return status !== null && isTerminalStatus(status) ? "already_finished" : "requested";
  }

  /** True once cancellation was requested (workers poll this between steps). */
  async isCancelRequested(id: string): Promise<boolean> {
    return this.analyses.isCancelRequested(id);
  }

  /**
   * Follows the analysis's events until a terminal one (by default from the first
   * kept event, so nothing before the call is missed). See `AnalysisEvents.subscribe`.
   */
  events(id: string, options: SubscribeOptions = {}): AsyncGenerator<AnalysisEventEntry, void> {
    return this.analysisEvents.subscribe(id, { fromStart: true, ...options });
  }

  /** Closes the queue and the connection this client opened (a shared one is left open). */
  async close(): Promise<void> {
    await this.rootJobs.close();
    await this.queue.close();
    await closeRedis(this.connection);
  }

  private async deduplicated(id: string): Promise<EnqueuedAnalysis> {
    const record = await this.analyses.get(id);
    if (!record) {
      // Bound key, record gone: only possible past retention, as keys and records share a TTL.
      throw new RlmError(QueueErrorCode.notFound, `analysis ${id} is no longer stored`);
    }
    if (record.status === "queued") {
      // An earlier call may have died between record and job. While the job exists,
      // adding the same job id is a no-op, so this never runs an analysis twice.
      const data: RootJobData = {
        analysisId: id,
        query: record.query,
        contextRef: record.contextRef,
        options: record.options,
        depth: 0,
        createdAt: record.createdAt,
      };
      // Listed again too: the first call may have died before the record was listed.
      await this.index.add(id, record.createdAt);
      await this.rootJobs.add(data, record.webhook);
    }
    notify(this.observe, { type: "analysis_enqueued", analysisId: id, deduplicated: true });
    return { id, status: record.status, deduplicated: true };
  }

  private async requireRecord(id: string): Promise<AnalysisRecord> {
    return requireRecord(this.analyses, id);
  }
}
