import type { FinishReason, RlmEvent, UsageSummary } from "@rlm/core";
import { duplicateClient, type RedisClient } from "../storage/redis-client.js";
import type { AnalysisError, AnalysisProgress, AnalysisStatus } from "./analysis-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, type RedisKeys, redisKeys } from "../storage/keys.js";

/** Events kept per analysis stream (approximate: `MAXLEN ~`). */
export const EVENTS_MAX_LEN = 10_000;

/** A progress event of an analysis, as published to `<prefix>:events:{<id>}`. */
export type AnalysisEvent =
  | { type: "status"; status: AnalysisStatus }
  | { type: "progress"; progress: AnalysisProgress }
  | {
      type: "iteration";
      /** The engine event: an iteration started or ended, a cell ran, a replay diverged. */
      engine: Extract<
        RlmEvent,
        { type: "iteration_start" | "iteration_end" | "cell_end" | "replay_mismatch" }
      >;
    }
  | { type: "subcall"; engine: Extract<RlmEvent, { type: "subcall_start" | "subcall_end" }> }
  | {
      type: "completed";
      answer: string;
      finishReason: FinishReason;
      iterations: number;
      totalCalls: number;
      usage: UsageSummary;
      durationMs: number;
    }
  | { type: "failed"; error: AnalysisError }
  | { type: "cancelled"; reason?: string };

/** Event types after which an analysis emits nothing more. */
export type TerminalEventType = "completed" | "failed" | "cancelled";

/** True for `completed`, `failed` and `cancelled` events. */
export function isTerminalEvent(
  event: AnalysisEvent,
): event is Extract<AnalysisEvent, { type: TerminalEventType }> {
  return event.type === "completed" || event.type === "failed" || event.type === "cancelled";
}

/** An event as read back from the stream. */
export interface AnalysisEventEntry {
  /** Stream entry id (`<ms>-<seq>`): usable as an SSE id and as `after` to resume. */
  id: string;
  /** Milliseconds since the epoch when the event was published. */
  time: number;
  event: AnalysisEvent;
}

/** Stream entry fields of an event: `type` for cheap filtering, `event` the JSON. */
export function encodeEvent(event: AnalysisEvent): [string, string, string, string] {
  return ["type", event.type, "event", JSON.stringify(event)];
}

function decodeEntry(id: string, fields: string[]): AnalysisEventEntry | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== "event") continue;
    const event = JSON.parse(fields[i + 1]!) as AnalysisEvent;
    return { id, time: Number(id.split("-")[0]), event };
  }
  return undefined;
}

/** Options of `AnalysisEvents`. */
export interface AnalysisEventsOptions {
  redis: RedisClient;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /** TTL of a stream, refreshed by each publish. Default 7 days. */
  ttlSeconds?: number;
}

/** CLIENT SETNAME of subscriber connections, so they are easy to tell apart in `CLIENT LIST`. */
export function subscriberConnectionName(prefix: string = DEFAULT_PREFIX): string {
  return `${prefix}:events-subscriber`;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * Replay the stream from its first kept event. Otherwise only events published after
   * the call are delivered, except that subscribing to a finished analysis yields its
   * terminal event (so a late subscriber does not wait for ever).
   */
  fromStart?: boolean;
  /** Resume after this stream entry id (wins over `fromStart`). */
  after?: string;
  /** Ends the iteration (without an error) and closes its connection. */
  signal?: AbortSignal;
  /** How long one XREAD blocks before it is re-issued. Default 5000 ms. */
  blockMs?: number;
}

/**
 * Publishes and follows the progress events of analyses, kept in one Redis Stream per
 * analysis so a subscriber that connects late (an SSE client, `waitForResult`) can
 * replay what it missed.
 */
export class AnalysisEvents {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly ttlSeconds: number;
  private readonly connectionName: string;

  constructor(options: AnalysisEventsOptions) {
    this.redis = options.redis;
    this.connectionName = subscriberConnectionName(options.prefix);
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /** Appends an event; returns its stream id. */
  async publish(analysisId: string, event: AnalysisEvent): Promise<string> {
    const key = this.keys.events(analysisId);
    const results = await this.redis
      .multi()
      .xadd(key, "MAXLEN", "~", EVENTS_MAX_LEN, "*", ...encodeEvent(event))
      .expire(key, this.ttlSeconds)
      .exec();
    const [error, id] = results?.[0] ?? [new Error("event publish was aborted")];
    if (error) throw error;
    return String(id);
  }

  /** Every kept event of an analysis, oldest first (no waiting). */
  async history(analysisId: string): Promise<AnalysisEventEntry[]> {
    const entries = await this.redis.xrange(this.keys.events(analysisId), "-", "+");
    return entries.flatMap(([id, fields]) => decodeEntry(id, fields) ?? []);
  }

  /**
   * Follows an analysis's events. XREAD BLOCK runs on a dedicated connection (a
   * duplicate of the client: a blocked connection can serve nothing else), closed when
   * the iteration ends: after a terminal event, on `signal` abort, or when the consumer
   * stops early (`break` / `return()`).
   */
  async *subscribe(
    analysisId: string,
    options: SubscribeOptions = {},
  ): AsyncGenerator<AnalysisEventEntry, void, undefined> {
    const { signal, blockMs = 5_000 } = options;
    if (signal?.aborted) return;
    const key = this.keys.events(analysisId);
    let lastId = options.after ?? (options.fromStart ? "0" : undefined);
    if (lastId === undefined) {
      // Anchor at the newest event now instead of XREAD's `$`, which would drop events
      // published between here and the first XREAD.
      const [latest] = await this.redis.xrevrange(key, "+", "-", "COUNT", 1);
      const entry = latest ? decodeEntry(latest[0], latest[1]) : undefined;
      if (entry && isTerminalEvent(entry.event)) {
        yield entry;
        return;
      }
      lastId = latest?.[0] ?? "0";
    }
    // Failures surface as XREAD rejections (the duplicate listens to its errors).
    const connection = duplicateClient(this.redis, { connectionName: this.connectionName });
    // Disconnecting makes a pending XREAD reject at once, so abort never waits blockMs.
    const onAbort = () => connection.disconnect();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        let reply: Array<[string, Array<[string, string[]]>]> | null;
        try {
          reply = await connection.xread("COUNT", 100, "BLOCK", blockMs, "STREAMS", key, lastId);
        } catch (error) {
          if (signal?.aborted) return;
          throw error;
        }
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const entry = decodeEntry(id, fields);
            if (!entry) continue;
            yield entry;
            if (isTerminalEvent(entry.event)) return;
          }
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      connection.disconnect();
    }
  }
}
