import type { RlmResult } from "@rlm/core";
import { type AnalysisEvent, EVENTS_MAX_LEN } from "./analysis-events.js";
import { newAnalysisId } from "./analysis-id.js";
import { AnalysisIndex } from "./analysis-index.js";
import { parseAnalysisRecord } from "./analysis-record.js";
import {
  type AnalysisError,
  type AnalysisProgress,
  type AnalysisRecord,
  type AnalysisStatus,
  isTerminalStatus,
} from "./analysis-types.js";
import type { ContextRef } from "../storage/context-ref.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, type RedisKeys, redisKeys } from "../storage/keys.js";
import { bindKey } from "../storage/bind-key.js";
import { luaScripts } from "../storage/lua-scripts.js";
import type { RedisClient } from "../storage/redis-client.js";

/** Options of an `AnalysisStore`. */
export interface AnalysisStoreOptions {
  redis: RedisClient;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /**
   * Lifetime of records, idempotency keys and event streams, refreshed by each update:
   * a finished analysis stays this long after its last change. Default 7 days.
   */
  ttlSeconds?: number;
}

/** Input of `AnalysisStore.create`. */
export interface CreateAnalysisInput {
  query: string;
  contextRef: ContextRef;
  options: SerializableEngineOptions;
  /** Iteration budget, shown in progress from the start. */
  maxIterations: number;
  idempotencyKey?: string;
  /** Where the analysis's end is POSTed (kept with the record: a re-added job needs it). */
  webhook?: { url: string };
}

/** A change to a record, applied by `AnalysisStore.transition`. */
export interface AnalysisChange {
  /** Only apply when the current status is one of these (default: any non-terminal). */
  from?: readonly AnalysisStatus[];
  status?: AnalysisStatus;
  result?: RlmResult;
  error?: AnalysisError;
  cancelRequested?: boolean;
  /** Refuse the change (`cancel_requested`) once a cancel was requested. */
  refuseIfCancelRequested?: boolean;
  /** Progress fields set with the change (the final usage, with a terminal status). */
  progress?: Partial<AnalysisProgress>;
  /** Published in the same atomic step, only if the change is applied. */
  event?: AnalysisEvent;
  /** The journal gets the record's TTL with the change (when the analysis ends). */
  expireJournal?: boolean;
}

/** One entry of `AnalysisStore.report`: an event, or progress counters to merge. */
export type ReportEntry =
  | { event: AnalysisEvent }
  | {
      progress: {
        set?: Partial<AnalysisProgress>;
        add?: Partial<Record<ProgressCounter, number>>;
      };
    };

/** Outcome of a guarded update. */
export type TransitionOutcome = "updated" | "refused" | "missing" | "cancel_requested";

const OUTCOMES: Record<string, TransitionOutcome> = {
  "1": "updated",
  "0": "refused",
  "-1": "missing",
  "-2": "cancel_requested",
};

/** Numeric progress fields, the ones that can be added to. */
export type ProgressCounter = {
  [K in keyof AnalysisProgress]: AnalysisProgress[K] extends number | null ? K : never;
}[keyof AnalysisProgress];

/** Zero progress for a new analysis. */
export function initialProgress(maxIterations: number): AnalysisProgress {
  return {
    iteration: 0,
    maxIterations,
    subCallsDone: 0,
    subCallsTotal: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  };
}

/**
 * Analysis records (`<prefix>:analysis:{<id>}`) and idempotency keys. Every status
 * change goes through a guarded script: terminal statuses are final.
 */
export class AnalysisStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly ttlSeconds: number;
  private readonly index: AnalysisIndex;

  constructor(options: AnalysisStoreOptions) {
    this.redis = options.redis;
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.index = new AnalysisIndex(options);
  }

  /**
   * Creates a `queued` record with a new id and lists it (`AnalysisIndex`), unless
   * `idempotencyKey` is bound to an analysis already: then returns that id with
   * `created: false`.
   *
   * The record is written first and the key bound to it after (SET NX): the key and the
   * record are in different slots on a cluster, so no one script can do both, and in
   * this order a bound key always names a record. Of two producers racing with one key,
   * the one whose bind loses deletes the record it had just made.
   */
  async create(
    input: CreateAnalysisInput,
  ): Promise<{ id: string; created: boolean; createdAt: number }> {
    const id = newAnalysisId();
    const now = Date.now();
    const fields = [
      ["id", id],
      ["status", "queued" satisfies AnalysisStatus],
      ["query", input.query],
      ["contextRef", JSON.stringify(input.contextRef)],
      ["options", JSON.stringify(input.options)],
      ["createdAt", String(now)],
      ["updatedAt", String(now)],
      ["progress", JSON.stringify(initialProgress(input.maxIterations))],
      ["cancelRequested", "0"],
      ...(input.webhook ? [["webhook", JSON.stringify(input.webhook)]] : []),
    ].flat();
    await luaScripts.recordCreate.run(
      this.redis,
      [this.keys.analysis(id)],
      [this.ttlSeconds, ...fields],
    );
    if (input.idempotencyKey !== undefined) {
      const key = this.keys.idempotency(input.idempotencyKey);
      const bound = await bindKey(this.redis, key, id, this.ttlSeconds);
      if (bound !== id) {
        await this.redis.unlink(this.keys.analysis(id));
        return { id: bound, created: false, createdAt: now };
      }
    }
    await this.index.add(id, now);
    return { id, created: true, createdAt: now };
  }

  /** The analysis id an idempotency key is bound to, if any. */
  async findByIdempotencyKey(key: string): Promise<string | null> {
    return this.redis.get(this.keys.idempotency(key));
  }

  /** The whole record, or null if there is none (unknown id or past retention). */
  async get(id: string): Promise<AnalysisRecord | null> {
    const hash = await this.redis.hgetall(this.keys.analysis(id));
    if (hash.status === undefined) return null;
    return parseAnalysisRecord(id, hash);
  }

  /** The status alone (cheap, for polling). */
  async getStatus(id: string): Promise<AnalysisStatus | null> {
    return (await this.redis.hget(this.keys.analysis(id), "status")) as AnalysisStatus | null;
  }

  /** Applies a change if the record's status allows it; see `AnalysisChange`. */
  async transition(id: string, change: AnalysisChange): Promise<TransitionOutcome> {
    const fields: string[] = [];
    if (change.status !== undefined) fields.push("status", change.status);
    if (change.result !== undefined) {
      // finishReason beside the result: a list reads it without the whole result.
      fields.push(
        "result",
        JSON.stringify(change.result),
        "finishReason",
        change.result.finishReason,
      );
    }
    if (change.error !== undefined) fields.push("error", JSON.stringify(change.error));
    if (change.cancelRequested !== undefined) {
      fields.push("cancelRequested", change.cancelRequested ? "1" : "0");
    }
    // A terminal status or a cancel request stops the analysis: every worker is told.
    const stops =
      change.cancelRequested === true ||
      (change.status !== undefined && isTerminalStatus(change.status));
    const keys = [this.keys.analysis(id), this.keys.events(id)];
    if (change.expireJournal) keys.push(this.keys.journal(id));
    const reply = await luaScripts.analysisTransition.run(this.redis, keys, [
      Date.now(),
      this.ttlSeconds,
      (change.from ?? []).join(","),
      change.event?.type ?? "",
      change.event ? JSON.stringify(change.event) : "",
      EVENTS_MAX_LEN,
      stops ? this.keys.stops() : "",
      change.refuseIfCancelRequested ? "1" : "",
      change.progress ? JSON.stringify(change.progress) : "",
      ...fields,
    ]);
    return OUTCOMES[String(reply)] ?? "missing";
  }

  /**
   * Sets and/or adds to progress counters (atomically, in Redis) and publishes the
   * merged progress as a `progress` event unless `publish` is false. Returns the merged
   * progress, or null when the record is missing or already terminal.
   */
  async updateProgress(
    id: string,
    update: {
      set?: Partial<AnalysisProgress>;
      add?: Partial<Record<ProgressCounter, number>>;
      publish?: boolean;
    },
  ): Promise<AnalysisProgress | null> {
    const reply = await luaScripts.analysisProgress.run(
      this.redis,
      [this.keys.analysis(id), this.keys.events(id)],
      [
        Date.now(),
        this.ttlSeconds,
        // cjson decodes `[]` and `{}` alike; an empty object is what an absent part means.
        JSON.stringify(update.set ?? {}),
        JSON.stringify(update.add ?? {}),
        EVENTS_MAX_LEN,
        update.publish === false ? "0" : "1",
      ],
    );
    return typeof reply === "string" ? (JSON.parse(reply) as AnalysisProgress) : null;
  }

  /**
   * Writes, in order and in one step, engine events to the analysis's stream and
   * progress into its record (each merge published as a progress event; skipped once the
   * analysis has ended).
   */
  async report(id: string, entries: readonly ReportEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: string[] = [];
    for (const entry of entries) {
      if ("event" in entry) args.push("event", entry.event.type, JSON.stringify(entry.event));
      else {
        args.push(
          "progress",
          JSON.stringify(entry.progress.set ?? {}),
          JSON.stringify(entry.progress.add ?? {}),
        );
      }
    }
    await luaScripts.analysisReport.run(
      this.redis,
      [this.keys.analysis(id), this.keys.events(id)],
      [Date.now(), this.ttlSeconds, EVENTS_MAX_LEN, ...args],
    );
  }

  /** Flags a non-terminal analysis for cancellation (the worker polls the flag). */
  async requestCancel(id: string): Promise<TransitionOutcome> {
    return this.transition(id, { cancelRequested: true });
  }

  /**
   * True once no more model calls are wanted for the analysis: cancellation was
   * requested, or it ended (a budget spent, an answer found, a failure) while calls it
   * had issued were still queued or running.
   */
  async callsUnwanted(id: string): Promise<boolean> {
    const [status, cancelRequested] = await this.redis.hmget(
      this.keys.analysis(id),
      "status",
      "cancelRequested",
    );
    return (
      cancelRequested === "1" || (status !== null && isTerminalStatus(status as AnalysisStatus))
    );
  }

  /** True once cancellation was requested. */
  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.analysis(id), "cancelRequested")) === "1";
  }

  /** Sets the TTL of the record and its event stream. */
  async expire(id: string, seconds: number): Promise<void> {
    await this.redis
      .multi()
      .expire(this.keys.analysis(id), seconds)
      .expire(this.keys.events(id), seconds)
      .exec();
  }
}
