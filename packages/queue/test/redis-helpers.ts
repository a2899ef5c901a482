import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";

/** The Redis every test uses (real, local). */
export const REDIS_OPTIONS = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };

/** A key prefix no other test file (or run) shares. */
export function uniquePrefix(name: string): string {
  return `rlmtest-${name}-${randomBytes(4).toString("hex")}`;
}

/** A fresh client; close it with `quit()`. */
export function newRedis(): Redis {
  return new Redis(REDIS_OPTIONS);
}

/**
 * Every key under the prefix (ours and BullMQ's, which share it), on every master of a
 * cluster.
 */
export async function keysUnder(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  if (redis instanceof Cluster) await redis.ping(); // the slot map, hence the masters
  for (const node of redis instanceof Cluster ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
  }
  return keys;
}

/** Deletes every key under the prefix (`obliterate()` leaves some behind). */
export async function deleteKeysUnder(redis: Redis | Cluster, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (redis instanceof Cluster) {
    // One DEL may name keys of one slot only on a cluster.
    await Promise.all(keys.map((key) => redis.del(key)));
    return;
  }
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}

/** Rejects if `promise` does not settle within `ms` (a test waits on events, never sleeps). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
