import type { FinishReason } from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import type { AnalysisError, AnalysisProgress, AnalysisStatus } from "./analysis-types.js";
import { InvalidInputError } from "../errors.js";
import { DAY_SECONDS, DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, redisKeys } from "../storage/keys.js";

/** Options of an `AnalysisIndex`. */
export interface AnalysisIndexOptions {
  redis: RedisClient;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /** Retention of the records (default 7 days): members older than it are trimmed. */
  ttlSeconds?: number;
}

/** What `listAnalyses` is asked. */
export interface ListAnalysesQuery {
  /** Only analyses in one of these statuses (any status when absent or empty). */
  statuses?: readonly AnalysisStatus[];
  /** Only analyses created at or after this time, in ms since the epoch. */
  sinceMs?: number;
  /** Analyses per page, 1 to 100. Default 20. */
  limit?: number;
  /** Where to go on: the `nextCursor` of the page before. */
  cursor?: string;
}

/** One analysis in a list: its state, not its result (`getAnalysis` has that). */
export interface AnalysisSummary {
  id: string;
  status: AnalysisStatus;
  /** The question, cut at `SUMMARY_QUERY_CHARS` characters (with `…`). */
  query: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  progress: AnalysisProgress;
  cancelRequested: boolean;
  /** Why it ended, once it has with a result. */
  finishReason?: FinishReason;
  /** Why it failed, once it has. */
  error?: AnalysisError;
}

/** A page of analyses, newest first. */
export interface AnalysisPage {
  analyses: AnalysisSummary[];
  /** Present while older analyses may remain: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

/** Longest query a summary carries (a chat completion's query can be a whole message). */
export const SUMMARY_QUERY_CHARS = 500;
/** Default and largest page. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/**
 * Index entries one page looks at, at most: a rare status is found by reading records,
 * so a page is bounded in work, and may come back short with a cursor to go on.
 */
export const MAX_EXAMINED = 1_000;
const BATCH = 100;
const SUMMARY_FIELDS = [
  "status",
  "query",
  "createdAt",
  "updatedAt",
  "progress",
  "cancelRequested",
  "finishReason",
  "error",
] as const;

/** A position in the index: an entry's score (creation ms) and id. */
interface Position {
  score: number;
  id: string;
}

/**
 * The list of top analyses by creation time (`<prefix>:analyses`, a sorted set: score =
 * creation ms, member = id), written when a record is created and read by pages, newest
 * first. A member whose record has expired is dropped when a page meets it, and members
 * older than the retention (plus a day for analyses that ran long) are trimmed at each
 * add: no SCAN, no KEYS. Its own key, written beside each record's script: on a Redis
 * Cluster a script may not touch it together with an analysis's keys.
 */
export class AnalysisIndex {
  private readonly redis: RedisClient;
  private readonly key: string;
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly ttlSeconds: number;

  constructor(options: AnalysisIndexOptions) {
    this.redis = options.redis;
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.key = this.keys.analysesIndex();
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /** Lists an analysis (idempotent: the same id keeps its place). */
  async add(id: string, createdAtMs: number): Promise<void> {
    const horizon = Date.now() - (this.ttlSeconds + DAY_SECONDS) * 1000;
    await this.redis
      .pipeline()
      .zadd(this.key, createdAtMs, id)
      .zremrangebyscore(this.key, "-inf", `(${horizon}`)
      .exec();
  }

  /** A page of analyses, newest first, as `query` asks. */
  async page(query: ListAnalysesQuery = {}): Promise<AnalysisPage> {
    const limit = pageSize(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.sinceMs !== undefined && !Number.isFinite(query.sinceMs)) {
      throw new InvalidInputError("since must be a time");
    }
    const wanted = new Set(query.statuses ?? []);
    const upper = after ? String(after.score) : "+inf";
    const lower = query.sinceMs === undefined ? "-inf" : String(query.sinceMs);
    const analyses: AnalysisSummary[] = [];
    const expired: string[] = [];
    let last: Position | undefined = after;
    let examined = 0;
    let offset = 0;
    let more = true;
    while (analyses.length < limit && examined < MAX_EXAMINED && more) {
      const count = Math.min(BATCH, MAX_EXAMINED - examined);
      const reply = await this.redis.zrange(
        this.key,
        upper,
        lower,
        "BYSCORE",
        "REV",
        "LIMIT",
        offset,
        count,
        "WITHSCORES",
      );
      offset += reply.length / 2;
      // Entries of the cursor's own millisecond at or before it were on earlier pages.
      const entries = positions(reply).filter(
        (entry) => !after || entry.score !== after.score || entry.id < after.id,
      );
      const summaries = await Promise.all(entries.map((entry) => this.summary(entry.id)));
      more = reply.length / 2 === count;
      for (const [i, entry] of entries.entries()) {
        if (analyses.length === limit) {
          more = true;
          break;
        }
        examined += 1;
        last = entry;
        const summary = summaries[i];
        if (summary === undefined) expired.push(entry.id);
        else if (wanted.size === 0 || wanted.has(summary.status)) analyses.push(summary);
      }
    }
    if (expired.length > 0) await this.redis.zrem(this.key, ...expired).catch(() => 0);
    return {
      analyses,
      ...(more && last !== undefined ? { nextCursor: encodeCursor(last) } : {}),
    };
  }

  private async summary(id: string): Promise<AnalysisSummary | undefined> {
    const values = await this.redis.hmget(this.keys.analysis(id), ...SUMMARY_FIELDS);
    const [status, query, createdAt, updatedAt, progress, cancelRequested, finishReason, error] =
      values;
    if (!status || !progress) return undefined;
    try {
      return {
        id,
        status: status as AnalysisStatus,
        query: cut(query ?? ""),
        createdAt: new Date(Number(createdAt)).toISOString(),
        updatedAt: new Date(Number(updatedAt)).toISOString(),
        progress: JSON.parse(progress) as AnalysisProgress,
        cancelRequested: cancelRequested === "1",
        ...(finishReason ? { finishReason: finishReason as FinishReason } : {}),
        ...(error ? { error: JSON.parse(error) as AnalysisError } : {}),
      };
    } catch {
      // A record being written or one this version cannot read: not listed, not dropped.
      return undefined;
    }
  }
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

function positions(reply: string[]): Position[] {
  const entries: Position[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    entries.push({ id: reply[i] ?? "", score: Number(reply[i + 1]) });
  }
  return entries;
}

function cut(query: string): string {
  return query.length > SUMMARY_QUERY_CHARS ? `${query.slice(0, SUMMARY_QUERY_CHARS)}…` : query;
}

/** A cursor is opaque to callers: the position of the last entry a page looked at. */
function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.score, position.id])).toString("base64url");
}

function decodeCursor(cursor: string): Position {
  try {
    const [score, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof score === "number" && Number.isFinite(score) && typeof id === "string") {
      return { score, id };
    }
  } catch {
    // Reported below.
  }
  throw new InvalidInputError("cursor is not one a page of this list gave");
}
