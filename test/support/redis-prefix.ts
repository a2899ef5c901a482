import { deleteKeysUnder, newRedis } from "../../packages/queue/test/redis-helpers.js";

/** A unique key prefix per test file, and a cleanup that deletes every key under it. */
export function uniquePrefix(name: string): string {
  return `rlmt-${name}-${process.pid}-${Date.now().toString(36)}`;
}

/** Deletes every key under the prefix (the queue package's test helper does the work). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = newRedis();
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
