import type { RedisClient } from "./redis-client.js";

/**
 * Binds `key` to `value` for `ttlSeconds` unless it is bound already (SET NX); returns
 * the value it is bound to, ours or the earlier one. For idempotency keys: written apart
 * from the record they name, since on a Redis Cluster the two lie in different slots and
 * no one script may write both. The caller writes its record first, so that a bound key
 * always names a record, and deletes it when the key turns out bound to another.
 */
export async function bindKey(
  redis: RedisClient,
  key: string,
  value: string,
  ttlSeconds: number,
): Promise<string> {
  for (;;) {
    if ((await redis.set(key, value, "EX", ttlSeconds, "NX")) === "OK") return value;
    // Bound; unless it expired since, in which case the next SET NX takes it.
    const existing = await redis.get(key);
    if (existing !== null) return existing;
  }
}
