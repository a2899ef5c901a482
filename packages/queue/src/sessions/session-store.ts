import { RlmError } from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import type { AnalysisStatus } from "../analyses/analysis-types.js";
import { QueueErrorCode } from "../errors.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import type { ContextRef } from "../storage/context-ref.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, type RedisKeys, redisKeys } from "../storage/keys.js";
import { bindKey } from "../storage/bind-key.js";
import { luaScripts } from "../storage/lua-scripts.js";
import { newSessionId, type SessionQuestionEnd, type SessionRecord } from "./session-types.js";

/** Options of a `SessionStore`. */
export interface SessionStoreOptions {
  redis: RedisClient;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /**
   * Lifetime of a session after its last change (created, a question asked or ended),
   * and of what its questions need from then on (their records, events and journals).
   * Default 7 days, as analyses.
   */
  ttlSeconds?: number;
}

/** What an analysis of a session is, read from its record. */
export interface QuestionState {
  status: AnalysisStatus | null;
  query: string | null;
}

/**
 * Session records (`<prefix>:session:{<id>}`): one hash holding the session's context
 * reference and options, its questions by position (`q:<n>` → analysis id, `a:<id>` → n,
 * `count`) and what each ended question left (`end:<n>`, JSON). Every write goes through
 * a script on that one key.
 */
export class SessionStore {
  readonly ttlSeconds: number;
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;

  constructor(options: SessionStoreOptions) {
    this.redis = options.redis;
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /**
   * Creates a session with a new id, unless `idempotencyKey` is bound to one already:
   * then returns that id with `created: false`. The record first, then the key bound to
   * it (`bindKey`: they lie in different slots of a cluster); the loser of a race
   * deletes the record it had made.
   */
  async create(input: {
    contextRef: ContextRef;
    options: SerializableEngineOptions;
    idempotencyKey?: string;
  }): Promise<{ id: string; created: boolean }> {
    const id = newSessionId();
    const now = String(Date.now());
    const fields = [
      ["id", id],
      ["contextRef", JSON.stringify(input.contextRef)],
      ["options", JSON.stringify(input.options)],
      ["createdAt", now],
      ["updatedAt", now],
      ["count", "0"],
    ].flat();
    await luaScripts.recordCreate.run(
      this.redis,
      [this.keys.session(id)],
      [this.ttlSeconds, ...fields],
    );
    if (input.idempotencyKey === undefined) return { id, created: true };
    const key = this.keys.sessionIdempotency(input.idempotencyKey);
    const bound = await bindKey(this.redis, key, id, this.ttlSeconds);
    if (bound === id) return { id, created: true };
    await this.redis.unlink(this.keys.session(id));
    return { id: bound, created: false };
  }

  /** The whole record, or null for an unknown (or expired) session. */
  async get(id: string): Promise<SessionRecord | null> {
    const hash = await this.redis.hgetall(this.keys.session(id));
    if (hash.id === undefined) return null;
    return parseRecord(id, hash);
  }

  /**
   * Adds `analysisId` as the session's next question (or finds it there: a retry).
   * Returns its position, or null when the session is gone.
   */
  async append(sessionId: string, analysisId: string): Promise<number | null> {
    const position = await luaScripts.sessionAppend.run(
      this.redis,
      [this.keys.session(sessionId)],
      [analysisId, this.ttlSeconds, Date.now()],
    );
    return typeof position === "number" && position >= 0 ? position : null;
  }

  /** Records what question `position` left (once); false when the session is gone. */
  async recordEnd(sessionId: string, position: number, end: SessionQuestionEnd): Promise<boolean> {
    const written = await luaScripts.sessionEnd.run(
      this.redis,
      [this.keys.session(sessionId)],
      [position, JSON.stringify(end), this.ttlSeconds, Date.now()],
    );
    return written !== -1;
  }

  /** Status and query of each analysis, in order (nulls for a record that is gone). */
  async questionStates(analysisIds: readonly string[]): Promise<QuestionState[]> {
    return Promise.all(
      analysisIds.map(async (id) => {
        const [status, query] = await this.redis.hmget(this.keys.analysis(id), "status", "query");
        return { status: (status ?? null) as AnalysisStatus | null, query: query ?? null };
      }),
    );
  }

  /**
   * Gives the session's analyses (records, event streams, journals) the session's
   * lifetime again: a later question rebuilds its REPL from the earlier ones' journals,
   * so they must last as long as the session does. One command per key, as they may lie
   * in different slots of a cluster.
   */
  async keepAlive(analysisIds: readonly string[]): Promise<void> {
    const seconds = this.ttlSeconds;
    await Promise.all(
      analysisIds.flatMap((id) => [
        this.redis.expire(this.keys.analysis(id), seconds),
        this.redis.expire(this.keys.events(id), seconds),
        this.redis.expire(this.keys.journal(id), seconds),
      ]),
    );
  }
}

function parseRecord(id: string, hash: Record<string, string>): SessionRecord {
  try {
    const questions: string[] = [];
    const ends = new Map<number, SessionQuestionEnd>();
    const count = Number(hash.count ?? 0);
    for (let position = 0; position < count; position += 1) {
      const analysisId = hash[`q:${position}`];
      if (analysisId === undefined) break;
      questions.push(analysisId);
      const end = hash[`end:${position}`];
      if (end !== undefined) ends.set(position, JSON.parse(end) as SessionQuestionEnd);
    }
    return {
      id,
      contextRef: JSON.parse(hash.contextRef ?? "null") as ContextRef,
      options: JSON.parse(hash.options ?? "{}") as SerializableEngineOptions,
      createdAt: Number(hash.createdAt),
      updatedAt: Number(hash.updatedAt),
      questions,
      ends,
    };
  } catch (error) {
    throw new RlmError(QueueErrorCode.corruptRecord, `session record ${id} is not readable`, {
      cause: error,
    });
  }
}
