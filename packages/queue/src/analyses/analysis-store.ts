import { RlmError, type RlmResult } from "@rlm/core";
import type { Redis } from "ioredis";
import { type AnalysisEvent, EVENTS_MAX_LEN } from "./analysis-events.js";
import { newAnalysisId } from "./analysis-id.js";
import {
  type AnalysisError,
  type AnalysisProgress,
  type AnalysisRecord,
  type AnalysisStatus,
  isTerminalStatus,
} from "./analysis-types.js";
import type { ContextRef } from "../storage/context-store.js";
import { QueueErrorCode } from "../errors.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, type RedisKeys, redisKeys } from "../storage/keys.js";
import { LuaScript } from "../storage/lua-script.js";

/**
 * Creates an analysis record, or finds the one an idempotency key is bound to. One
 * script, so two producers racing with the same key create one analysis.
 *
 * KEYS[1] record hash of the new id; KEYS[2] (optional) idempotency key.
 * ARGV[1] new id; ARGV[2] TTL seconds; ARGV[3..] field, value pairs of the record.
 * Returns {id, 1} when created, {existing id, 0} when the key was bound already.
 */
const createScript = new LuaScript(`
if #KEYS == 2 then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {existing, 0} end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {ARGV[1], 1}
`);

/**
 * Updates a record if its status allows, and publishes an event in the same step: a
 * subscriber never sees a terminal event for a record that is not terminal, nor the
 * reverse, and a finished analysis is never reopened by a late writer.
 *
 * KEYS[1] record hash; KEYS[2] events stream.
 * ARGV[1] now (ms); ARGV[2] TTL seconds (record and stream); ARGV[3] allowed current
 * statuses, comma-separated, or '' for any non-terminal status; ARGV[4] event type, or
 * '' for none; ARGV[5] event JSON; ARGV[6] stream MAXLEN; ARGV[7..] field, value pairs.
 * Returns 1 updated, 0 refused (status not allowed), -1 no such record.
 */
const transitionScript = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if ARGV[3] == '' then
  if status == 'completed' or status == 'failed' or status == 'cancelled' then return 0 end
elseif not string.find(',' .. ARGV[3] .. ',', ',' .. status .. ',', 1, true) then
  return 0
end
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', ARGV[4], 'event', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
`);

/**
 * Merges into the progress JSON in Redis (so several jobs of one analysis tree can
 * count sub-calls without losing updates) and publishes the merged progress.
 * A null costUsd (unknown price) stays null when amounts are added to it.
 *
 * KEYS[1] record hash; KEYS[2] events stream.
 * ARGV[1] now (ms); ARGV[2] TTL seconds; ARGV[3] JSON of fields to set; ARGV[4] JSON of
 * amounts to add; ARGV[5] stream MAXLEN; ARGV[6] '1' to publish a progress event.
 * Returns the merged progress JSON, or nil when the record is missing or terminal.
 */
const progressScript = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then
  return nil
end
local progress = cjson.decode(redis.call('HGET', KEYS[1], 'progress') or '{}')
for k, v in pairs(cjson.decode(ARGV[3])) do progress[k] = v end
for k, v in pairs(cjson.decode(ARGV[4])) do
  local current = progress[k]
  if current ~= cjson.null then
    if type(current) ~= 'number' then current = 0 end
    if v == cjson.null then progress[k] = cjson.null else progress[k] = current + v end
  end
end
local json = cjson.encode(progress)
redis.call('HSET', KEYS[1], 'progress', json, 'updatedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[6] == '1' then
  local event = '{"type":"progress","progress":' .. json .. '}'
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'progress', 'event', event)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return json
`);

/** Options of an `AnalysisStore`. */
export interface AnalysisStoreOptions {
  redis: Redis;
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
}

/** A change to a record, applied by `AnalysisStore.transition`. */
export interface AnalysisChange {
  /** Only apply when the current status is one of these (default: any non-terminal). */
  from?: readonly AnalysisStatus[];
  status?: AnalysisStatus;
  result?: RlmResult;
  error?: AnalysisError;
  cancelRequested?: boolean;
  /** Published in the same atomic step, only if the change is applied. */
  event?: AnalysisEvent;
}

/** Outcome of a guarded update. */
export type TransitionOutcome = "updated" | "refused" | "missing";

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
 * Analysis records (`{prefix}:analysis:{id}`) and idempotency keys. Every status
 * change goes through a guarded script: terminal statuses are final.
 */
export class AnalysisStore {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly ttlSeconds: number;

  constructor(options: AnalysisStoreOptions) {
    this.redis = options.redis;
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /**
   * Creates a `queued` record with a new id, unless `idempotencyKey` is bound to an
   * analysis already: then returns that id with `created: false`.
   */
  async create(input: CreateAnalysisInput): Promise<{ id: string; created: boolean }> {
    const id = newAnalysisId();
    const now = Date.now();
    const keys = [this.keys.analysis(id)];
    if (input.idempotencyKey !== undefined) keys.push(this.keys.idempotency(input.idempotencyKey));
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
    ].flat();
    const reply = await createScript.run(this.redis, keys, [id, this.ttlSeconds, ...fields]);
    const [storedId, created] = reply as [string, number];
    return { id: storedId, created: created === 1 };
  }

  /** The analysis id an idempotency key is bound to, if any. */
  async findByIdempotencyKey(key: string): Promise<string | null> {
    return this.redis.get(this.keys.idempotency(key));
  }

  /** The whole record, or null if there is none (unknown id or past retention). */
  async get(id: string): Promise<AnalysisRecord | null> {
    const hash = await this.redis.hgetall(this.keys.analysis(id));
    if (hash.status === undefined) return null;
    return parseRecord(id, hash);
  }

  /** The status alone (cheap, for polling). */
  async getStatus(id: string): Promise<AnalysisStatus | null> {
    return (await this.redis.hget(this.keys.analysis(id), "status")) as AnalysisStatus | null;
  }

  /** Applies a change if the record's status allows it; see `AnalysisChange`. */
  async transition(id: string, change: AnalysisChange): Promise<TransitionOutcome> {
    const fields: string[] = [];
    if (change.status !== undefined) fields.push("status", change.status);
    if (change.result !== undefined) fields.push("result", JSON.stringify(change.result));
    if (change.error !== undefined) fields.push("error", JSON.stringify(change.error));
    if (change.cancelRequested !== undefined) {
      fields.push("cancelRequested", change.cancelRequested ? "1" : "0");
    }
    const reply = await transitionScript.run(
      this.redis,
      [this.keys.analysis(id), this.keys.events(id)],
      [
        Date.now(),
        this.ttlSeconds,
        (change.from ?? []).join(","),
        change.event?.type ?? "",
        change.event ? JSON.stringify(change.event) : "",
        EVENTS_MAX_LEN,
        ...fields,
      ],
    );
    return reply === 1 ? "updated" : reply === 0 ? "refused" : "missing";
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
    const reply = await progressScript.run(
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

function parseRecord(id: string, hash: Record<string, string>): AnalysisRecord {
  try {
    const record: AnalysisRecord = {
      id,
      status: hash.status as AnalysisStatus,
      query: hash.query ?? "",
      contextRef: JSON.parse(hash.contextRef ?? "null") as ContextRef,
      options: JSON.parse(hash.options ?? "{}") as SerializableEngineOptions,
      createdAt: Number(hash.createdAt),
      updatedAt: Number(hash.updatedAt),
      progress: JSON.parse(hash.progress ?? "null") as AnalysisProgress,
      cancelRequested: hash.cancelRequested === "1",
    };
    if (hash.result) record.result = JSON.parse(hash.result) as RlmResult;
    if (hash.error) record.error = JSON.parse(hash.error) as AnalysisError;
    return record;
  } catch (error) {
    throw new RlmError(QueueErrorCode.corruptRecord, `analysis record ${id} is not readable`, {
      cause: error,
    });
  }
}
