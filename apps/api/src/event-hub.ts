import { randomUUID } from "node:crypto";
import {
  type AnalysisEvent,
  type AnalysisEventEntry,
  type RedisClient,
  redisKeys,
  type RlmConnection,
} from "@rlm/queue";
import type { FastifyBaseLogger } from "fastify";
import { Cluster } from "ioredis";
import { apiConnectionName, openConnection } from "./api-redis.js";
import { compareIds, Subscription } from "./event-subscription.js";

/** Entries read per stream and per XREAD: a long history comes in rounds. */
const READ_COUNT = 100;
/** How long one XREAD blocks before it is issued again (new streams wake it sooner). */
const DEFAULT_BLOCK_MS = 5_000;
/** After a failed XREAD (not an outage: those wait in ioredis), before the next one. */
const RETRY_DELAY_MS = 1_000;
/** Lifetime of the wake stream, refreshed by each wake. */
const WAKE_TTL_SECONDS = 3_600;
/** On a cluster: the pause between two rounds of reads that found nothing new. */
const DEFAULT_CLUSTER_POLL_MS = 250;

/** XREAD's reply: entries by stream key. */
type StreamReply = Array<[string, Array<[string, string[]]>]>;

/** Options of an `EventHub`. */
export interface EventHubOptions {
  /** Where Redis is (the reader opens a connection of its own from it). */
  connection: RlmConnection;
  /** Used to wake the reader (XADD to its wake stream): the API's request connection. */
  waker: RedisClient;
  prefix: string;
  log: FastifyBaseLogger;
  /** Default 5000 ms. */
  blockMs?: number;
  /** On a cluster, the pause between rounds of reads that found nothing. Default 250 ms. */
  clusterPollMs?: number;
}

/**
 * Serves every event stream of one API process from ONE Redis connection: a single
 * `XREAD BLOCK` over the streams of all analyses followed at the moment, each from the
 * oldest position any of its subscribers still needs. Each subscriber keeps its own
 * position and skips what it has had, so a new subscriber replays from the start (or
 * from `Last-Event-ID`) while the others go on, in order, without a gap.
 *
 * A subscription that needs a stream the pending XREAD does not cover wakes it by
 * appending to the hub's own wake stream, which every XREAD also reads: this cannot be
 * lost in a race, as an XADD sent before the XREAD arrives makes it return at once.
 *
 * The reader's connection waits through Redis outages (commands queued, resent on
 * reconnect), as a worker's does: open streams resume when Redis is back.
 * Before, each SSE client held a blocking connection of its own (200 streams: 200
 * connections) and added a listener to the server's shutdown signal.
 *
 * On a Redis Cluster one XREAD may name keys of one slot only, and each analysis's stream
 * has a slot of its own: a blocking read per stream would hold a connection per stream.
 * There the reader instead reads every followed stream without blocking, one XREAD per
 * stream sent together (one round trip per node with auto-pipelining), again at once
 * while events come and every `clusterPollMs` (250 ms) when none did: events arrive
 * up to that much later, and each followed stream costs 4 XREADs a second when idle.
 */
export class EventHub {
  private readonly reader: RedisClient;
  private readonly waker: RedisClient;
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly log: FastifyBaseLogger;
  private readonly blockMs: number;
  private readonly clusterPollMs: number;
  private readonly wakeKey: string;
  /** Subscribers by stream key. */
  private readonly streams = new Map<string, Set<Subscription>>();
  private wakeCursor = "0";
  private wakeSent = false;
  private reading: Promise<void> | undefined;
  private closed = false;
  /** On a cluster: ends the pause between rounds (a new subscription, or close). */
  private endPause: (() => void) | undefined;

  constructor(options: EventHubOptions) {
    this.keys = redisKeys(options.prefix);
    this.log = options.log;
    this.blockMs = options.blockMs ?? DEFAULT_BLOCK_MS;
    this.clusterPollMs = options.clusterPollMs ?? DEFAULT_CLUSTER_POLL_MS;
    this.waker = options.waker;
    this.wakeKey = `${options.prefix}:api-events-wake:${randomUUID()}`;
    this.reader = openConnection(options.connection, {
      // Blocking reads that wait through outages, like a worker's connections.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      connectionName: apiConnectionName(options.prefix, "events"),
    }).redis;
  }

  /** Subscribers open now (for tests and metrics). */
  get size(): number {
    let count = 0;
    for (const subscribers of this.streams.values()) count += subscribers.size;
    return count;
  }

  /**
   * Follows an analysis's events after stream entry `after` (default: from the first
   * kept event) until its terminal event, `close()`, or the hub's.
   */
  subscribe(analysisId: string, after = "0"): Subscription {
    const key = this.keys.events(analysisId);
    const subscription = new Subscription(after, () => this.remove(key, subscription));
    if (this.closed) {
      subscription.end("shutdown");
      return subscription;
    }
    let subscribers = this.streams.get(key);
    if (!subscribers) {
      subscribers = new Set();
      this.streams.set(key, subscribers);
    }
    subscribers.add(subscription);
    if (this.reading) this.wake();
    else this.reading = this.read();
    return subscription;
  }

  /** Ends every subscription ("shutdown") and closes the reader's connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscribers of this.streams.values()) {
      for (const subscription of subscribers) subscription.end("shutdown");
    }
    this.streams.clear();
    // A pending XREAD rejects at once; a pause between polls ends.
    this.reader.disconnect();
    this.endPause?.();
    await this.reading;
    await this.waker.del(this.wakeKey).catch(() => {});
  }

  private remove(key: string, subscription: Subscription): void {
    const subscribers = this.streams.get(key);
    if (!subscribers) return;
    subscribers.delete(subscription);
    // The pending XREAD may still name the key: its answer then finds no one to deliver to.
    if (subscribers.size === 0) this.streams.delete(key);
  }

  private wake(): void {
    if (this.wakeSent) return;
    this.wakeSent = true;
    if (this.reader instanceof Cluster) {
      this.endPause?.();
      return;
    }
    this.waker
      .multi()
      .xadd(this.wakeKey, "MAXLEN", "1", "*", "wake", "1")
      .expire(this.wakeKey, WAKE_TTL_SECONDS)
      .exec()
      // Redis unreachable: the XREAD is re-issued within blockMs anyway.
      .catch(() => {});
  }

  private async read(): Promise<void> {
    const cluster = this.reader instanceof Cluster;
    while (!this.closed && this.streams.size > 0) {
      // A subscription from here on is not in this XREAD's arguments: it must wake it.
      this.wakeSent = false;
      const keys = [...this.streams.keys()];
      const cursors = keys.map((key) => oldestCursor(this.streams.get(key)));
      let reply: StreamReply | null;
      try {
        reply = cluster ? await this.poll(keys, cursors) : await this.blockingRead(keys, cursors);
      } catch (error) {
        if (this.closed) break;
        this.log.warn({ err: error }, "event stream read failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        continue;
      }
      for (const [key, entries] of reply ?? []) this.deliver(key, entries);
      if (cluster && !reply?.some(([, entries]) => entries.length > 0)) await this.pause();
    }
    this.reading = undefined;
  }

  /** One Redis: one XREAD BLOCK over every followed stream and the wake stream. */
  private blockingRead(keys: string[], cursors: string[]): Promise<StreamReply | null> {
    return this.reader.xread(
      "COUNT",
      READ_COUNT,
      "BLOCK",
      this.blockMs,
      "STREAMS",
      ...keys,
      this.wakeKey,
      ...cursors,
      this.wakeCursor,
    );
  }

  /** A cluster: an XREAD without BLOCK per followed stream (each in a slot of its own). */
  private async poll(keys: string[], cursors: string[]): Promise<StreamReply> {
    const replies = await Promise.all(
      keys.map((key, index) =>
        this.reader.xread("COUNT", READ_COUNT, "STREAMS", key, cursors[index] ?? "0"),
      ),
    );
    return replies.flatMap((reply) => reply ?? []);
  }

  /** A cluster's pause between reads that found nothing: `clusterPollMs`, or a wake. */
  private async pause(): Promise<void> {
    if (this.wakeSent || this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.endPause = resolve;
      timer = setTimeout(resolve, this.clusterPollMs);
    });
    clearTimeout(timer);
    this.endPause = undefined;
  }

  private deliver(key: string, entries: Array<[string, string[]]>): void {
    if (key === this.wakeKey) {
      this.wakeCursor = entries.at(-1)?.[0] ?? this.wakeCursor;
      return;
    }
    const subscribers = this.streams.get(key);
    if (!subscribers) return;
    for (const [id, fields] of entries) {
      const entry = decodeEntry(id, fields);
      if (!entry) continue;
      for (const subscription of [...subscribers]) subscription.push(entry);
    }
  }
}

/** The oldest position the subscribers of one stream still need. */
function oldestCursor(subscribers: Set<Subscription> | undefined): string {
  let oldest: string | undefined;
  for (const subscription of subscribers ?? []) {
    if (oldest === undefined || compareIds(subscription.cursor, oldest) < 0) {
      oldest = subscription.cursor;
    }
  }
  return oldest ?? "0";
}

/**
 * An entry as the producer writes it: fields `type` and `event` (the JSON). Read here
 * rather than through the producer's own subscriber, which holds a connection per call.
 */
function decodeEntry(id: string, fields: string[]): AnalysisEventEntry | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== "event") continue;
    try {
      const event = JSON.parse(fields[i + 1] ?? "") as AnalysisEvent;
      return { id, time: Number(id.split("-")[0]), event };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
