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

/** Uses a given client as is, or opens one from options. */
export function openRedis(connection: RlmConnection): OwnedRedis {
  if (connection instanceof Redis) return { redis: connection, owned: false };
  const { url, ...rest } = connection;
  // maxRetriesPerRequest null: commands wait for a reconnect instead of failing after
  // 20 tries, the behaviour BullMQ requires and long-running workers want.
  const options: RedisOptions = { maxRetriesPerRequest: null, ...rest };
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
