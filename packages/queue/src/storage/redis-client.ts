import { Redis, type RedisOptions } from "ioredis";

/** ioredis options, plus an optional `url` (`redis://…`) as BullMQ also accepts. */
export interface RedisConnectionOptions extends RedisOptions {
  url?: string;
}

/**
 * How to reach Redis: an ioredis client (shared, never closed by us) or options from
 * which each component opens (and later closes) its own connection.
 *
 * Narrower than BullMQ's `ConnectionOptions` on purpose: our own stores run Lua
 * scripts and streams through ioredis, so cluster and non-ioredis clients are out.
 * Both forms are valid BullMQ connections too.
 */
export type RlmConnection = Redis | RedisConnectionOptions;

/** A Redis client and whether the holder must close it. */
export interface OwnedRedis {
  redis: Redis;
  /** True when the client was opened from options and should be closed by its opener. */
  owned: boolean;
}

/**
 * How soon to try a lost connection again: every 50, 100, 150, then 200 ms.
 *
 * Why: ioredis's default waits up to 2 s between tries and BullMQ's own up to 20 s, so
 * after an outage of 10 s a worker holding answers it could not journal reconnected
 * seconds after another worker, which had meanwhile taken its job (its lock lapsed) and
 * paid for those calls again (27 calls in one such outage). Reconnecting within 200 ms
 * of Redis's return lets the answers waiting in the offline queue land first; a job taken
 * over waits a grace for them (see `STALLED_GRACE_MS`).
 */
export function promptReconnect(times: number): number {
  return Math.min(times * 50, 200);
}

/** Uses a given client as is, or opens one from options. */
export function openRedis(connection: RlmConnection): OwnedRedis {
  if (connection instanceof Redis) return { redis: connection, owned: false };
  const { url, ...rest } = connection;
  // maxRetriesPerRequest null: commands wait for a reconnect instead of failing after
  // 20 tries, the behaviour BullMQ requires and long-running workers want.
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    retryStrategy: promptReconnect,
    ...rest,
  };
  const redis = url ? new Redis(url, options) : new Redis(options);
  // Connection failures surface as rejected commands; without a listener ioredis would
  // print them, and library code never prints.
  redis.on("error", () => {});
  return { redis, owned: true };
}

/** Closes a client opened by `openRedis`; leaves a shared one alone. */
export async function closeRedis(client: OwnedRedis): Promise<void> {
  if (!client.owned) return;
  try {
    await client.redis.quit();
  } catch {
    // Already closed or never connected: nothing left to release.
    client.redis.disconnect();
  }
}
