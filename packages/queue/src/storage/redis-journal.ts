import { type Journal, type JournalRecord, RlmError } from "@rlm/core";
import type { RedisClient } from "./redis-client.js";
import { QueueErrorCode } from "../errors.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, redisKeys } from "./keys.js";
import { luaScripts } from "./lua-scripts.js";

/** Options of a `RedisJournal`. */
export interface RedisJournalOptions {
  redis: RedisClient;
  analysisId: string;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /**
   * TTL set on the journal hash by every write, so a journal whose analysis was
   * abandoned does not stay for ever. Default 7 days; 0 leaves the TTL alone.
   */
  ttlSeconds?: number;
}

/**
 * The `Journal` of one analysis in Redis: one hash `<prefix>:journal:{<analysisId>}` whose
 * fields are the scope prefix plus the engine's key and whose values are record JSON.
 * Nested analyses use `scope()` views on the same hash, so one key holds the whole tree.
 */
export class RedisJournal implements Journal {
  private readonly options: RedisJournalOptions;
  private readonly redis: RedisClient;
  private readonly key: string;
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(options: RedisJournalOptions, scopePrefix = "") {
    this.redis = options.redis;
    this.key = redisKeys(options.prefix ?? DEFAULT_PREFIX).journal(options.analysisId);
    this.prefix = scopePrefix;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.options = options;
  }

  async get(key: string): Promise<JournalRecord | undefined> {
    const value = await this.redis.hget(this.key, this.prefix + key);
    return value === null ? undefined : parseRecord(value, this.prefix + key);
  }

  /** The records at `keys`, in order (undefined where there is none): one round trip. */
  async getMany(keys: readonly string[]): Promise<Array<JournalRecord | undefined>> {
    if (keys.length === 0) return [];
    const fields = keys.map((key) => this.prefix + key);
    const values = await this.redis.hmget(this.key, ...fields);
    return values.map((value, index) =>
      value === null ? undefined : parseRecord(value, fields[index] ?? ""),
    );
  }

  async putIfAbsent(key: string, record: JournalRecord): Promise<JournalRecord> {
    const field = this.prefix + key;
    const stored = await luaScripts.journalPut.run(
      this.redis,
      [this.key],
      [field, JSON.stringify(record), this.ttlSeconds],
    );
    if (typeof stored !== "string") {
      throw new RlmError(QueueErrorCode.corruptRecord, `journal field ${field} was not stored`, {
        retryable: true,
      });
    }
    return parseRecord(stored, field);
  }

  scope(prefix: string): RedisJournal {
    return new RedisJournal(this.options, this.prefix + prefix);
  }

  /** Sets the journal's TTL (all scopes share it), e.g. to the retention of a finished analysis. */
  async expire(seconds: number): Promise<void> {
    await this.redis.expire(this.key, seconds);
  }
}

/** One journal record with its full field name (scope prefix + key). */
export interface JournalEntry {
  key: string;
  record: JournalRecord;
}

/**
 * Every record of an analysis's journal (all scopes, or those under `scopePrefix`), read
 * with HSCAN so a large journal does not block Redis. Sorted by key with numbers
 * compared as numbers (`root:2` before `root:10`); Redis keeps no insertion order.
 */
export async function listJournalRecords(
  redis: RedisClient,
  analysisId: string,
  options: { prefix?: string; scopePrefix?: string } = {},
): Promise<JournalEntry[]> {
  const key = redisKeys(options.prefix ?? DEFAULT_PREFIX).journal(analysisId);
  const scopePrefix = options.scopePrefix ?? "";
  const entries: JournalEntry[] = [];
  let cursor = "0";
  do {
    const [next, flat] = await redis.hscan(key, cursor, "COUNT", 200);
    cursor = next;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i]!;
      if (!field.startsWith(scopePrefix)) continue;
      entries.push({ key: field, record: parseRecord(flat[i + 1]!, field) });
    }
  } while (cursor !== "0");
  // HSCAN may return a field twice while the hash is rehashed: keep one of each.
  const unique = new Map(entries.map((entry) => [entry.key, entry]));
  const collator = new Intl.Collator("en", { numeric: true });
  return [...unique.values()].sort((a, b) => collator.compare(a.key, b.key));
}

function parseRecord(json: string, field: string): JournalRecord {
  try {
    return JSON.parse(json) as JournalRecord;
  } catch (error) {
    throw new RlmError(QueueErrorCode.corruptRecord, `journal field ${field} is not JSON`, {
      cause: error,
    });
  }
}
