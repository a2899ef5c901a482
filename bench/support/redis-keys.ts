import { Redis } from "ioredis";

export const REDIS = { host: "127.0.0.1", port: 6379 } as const;

/** One prefix per bench run, so runs never see each other's jobs and cleanup is exact. */
export function benchPrefix(): string {
  return `rlmbench-${process.pid}-${Date.now().toString(36)}`;
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

export async function deleteKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS);
  try {
    const keys = await scanKeys(redis, `${prefix}:*`);
    for (let index = 0; index < keys.length; index += 500) {
      await redis.unlink(...keys.slice(index, index + 500));
    }
    return keys.length;
  } finally {
    redis.disconnect();
  }
}
