import type { SubCallRecord } from "@rlm/core";
import { Cluster } from "ioredis";
import { redisKeys } from "../storage/keys.js";
import { duplicateClient, type RedisClient } from "../storage/redis-client.js";

/** Journaled answers announced for one analysis: [journal field, record] pairs. */
export type AnnouncedAnswers = Array<[journalKey: string, record: SubCallRecord]>;

/**
 * The Redis pub/sub side of the live way back, on one subscriber connection per process:
 * the answers of each analysis on its own channel (`<prefix>:answers:{<id>}`, announced by
 * the script that journals them), and the ids of analyses that were cancelled or ended on
 * one channel for every worker (`<prefix>:stops`, announced by the record's transition).
 *
 * On one Redis a process subscribes once, to every analysis's answers (a pattern), and
 * reads only those of the analyses it runs: no subscription command per analysis. On a
 * Redis Cluster a classic PUBLISH is copied to every node over the cluster bus, so the
 * answers go by sharded pub/sub instead (SPUBLISH, `sharded`): a message stays on the
 * shard of its analysis's slot and reaches only the processes subscribed to that
 * analysis, each with an SSUBSCRIBE while it runs it (Redis 7+: `sharded` is the
 * worker's choice, see `shardedPubSub`). The stops (an id each) stay classic.
 *
 * A message can be lost (a run not subscribed yet, a reconnect): the journal stays the
 * source of truth, and whoever waits reads it again now and then.
 */
export class AnswerChannel {
  /** True on a cluster: answers are announced with SPUBLISH (see the class). */
  readonly sharded: boolean;
  readonly #redis: RedisClient;
  readonly #keys: ReturnType<typeof redisKeys>;
  readonly #answers = new Map<string, (answers: AnnouncedAnswers) => void>();
  readonly #stopListeners = new Set<(analysisId: string) => void>();
  #subscriber: RedisClient | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(redis: RedisClient, prefix: string, options: { sharded?: boolean } = {}) {
    this.#redis = redis;
    this.#keys = redisKeys(prefix);
    this.sharded = options.sharded ?? false;
  }

  /** The channel the answers of `analysisId` are announced on. */
  answersChannel(analysisId: string): string {
    return this.#keys.answers(analysisId);
  }

  /**
   * Receives the answers announced for `analysisId` until the returned `stop`; `ready`
   * resolves once Redis confirmed the process's subscription (announcements before it are
   * missed).
   */
  subscribe(
    analysisId: string,
    deliver: (answers: AnnouncedAnswers) => void,
  ): { ready: Promise<void>; stop: () => void } {
    if (this.#closed) return { ready: Promise.resolve(), stop: () => undefined };
    const channel = this.answersChannel(analysisId);
    this.#answers.set(channel, deliver);
    const ready = this.sharded ? this.#shardSubscribe(channel) : this.#listening();
    return {
      ready,
      stop: () => {
        if (this.#answers.get(channel) !== deliver) return;
        this.#answers.delete(channel);
        if (this.sharded && !this.#closed) {
          this.#connection()
            .sunsubscribe(channel)
            .catch(() => undefined);
        }
      },
    };
  }

  /** Calls `listener` with the id of each analysis announced cancelled or ended. */
  async onStop(listener: (analysisId: string) => void): Promise<void> {
    this.#stopListeners.add(listener);
    await this.#listening();
  }

  /** Subscribes the process, once: the stops channel, and on one Redis every analysis's answers. */
  #listening(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#subscribed ??= (async () => {
      const connection = this.#connection();
      await Promise.all([
        connection.subscribe(this.#keys.stops()),
        this.sharded ? undefined : connection.psubscribe(this.#keys.answersPattern()),
      ]);
    })().catch(() => {
      this.#subscribed = undefined; // the next caller tries again
    });
    return this.#subscribed;
  }

  /** A cluster: the process's subscription to one analysis's answers, on its shard. */
  async #shardSubscribe(channel: string): Promise<void> {
    try {
      await this.#connection().ssubscribe(channel);
    } catch {
      // Not confirmed (a node unreachable a moment): the run reads the journal meanwhile.
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#answers.clear();
    this.#stopListeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    // Nothing to flush on a subscriber: a quit could wait on a Redis that is down.
    subscriber?.disconnect();
  }

  /** The subscriber connection, opened when first needed (a subscriber can do nothing else). */
  #connection(): RedisClient {
    if (!this.#subscriber) {
      // Commands wait for the connection (a caller's client may disable the offline
      // queue); a cluster's sharded subscriptions go through one connection per master.
      const subscriber = duplicateClient(this.#redis, {
        enableOfflineQueue: true,
        ...(this.sharded ? { shardedSubscribers: true } : {}),
      });
      subscriber.on("message", (channel: string, message: string) =>
        this.#received(channel, message),
      );
      subscriber.on("pmessage", (_pattern: string, channel: string, message: string) =>
        this.#received(channel, message),
      );
      subscriber.on("smessage", (channel: string, message: string) =>
        this.#received(channel, message),
      );
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }

  #received(channel: string, message: string): void {
    if (channel === this.#keys.stops()) {
      for (const listener of this.#stopListeners) listener(message);
      return;
    }
    const deliver = this.#answers.get(channel);
    if (!deliver) return;
    let answers: AnnouncedAnswers;
    try {
      answers = (JSON.parse(message) as AnnouncedAnswers).filter(
        ([key, record]) => typeof key === "string" && record?.kind === "sub",
      );
    } catch {
      return; // Not ours, or cut short: the journal has the answers.
    }
    deliver(answers);
  }
}

/**
 * Whether answers should go by sharded pub/sub: on a Redis Cluster of Redis 7 or newer
 * (SPUBLISH came with 7.0; an older cluster keeps classic PUBLISH, which works, copied to
 * every node). Every process of a system asks the same cluster, so all choose alike.
 */
export async function shardedPubSub(redis: RedisClient): Promise<boolean> {
  if (!(redis instanceof Cluster)) return false;
  const info = await redis.info("server");
  const major = Number(/^redis_version:(\d+)/m.exec(info)?.[1] ?? 0);
  return major >= 7;
}
