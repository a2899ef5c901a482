import { Redis } from "ioredis";

/** A unique key prefix per test file, and a cleanup that deletes every key under it. */
export function uniquePrefix(name: string): string {
  return `rlmt-${name}-${process.pid}-${Date.now().toString(36)}`;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis({ host: "127.0.0.1", port: 6379 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
