import { closeRedis, openRedis, type RedisConnectionOptions } from "@rlm/queue";
import { UsageError } from "./usage-error.js";

/** How long the start-up PING waits for Redis. */
export const REDIS_PROBE_TIMEOUT_MS = 2_000;

/** The connection options every queue component gets: the URL, nothing else. */
export function redisConnection(url: string): RedisConnectionOptions {
  return { url };
}

/** The URL as it may be shown: any password replaced by `***`. */
export function displayRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(invalid URL)";
  }
}

/**
 * One PING on a connection of its own that never retries: true when Redis answered
 * within `timeoutMs`. The queue's own connections retry for ever (what a worker wants
 * once it runs), so without this an unreachable Redis would look like a hang.
 */
export async function redisAnswers(url: string, timeoutMs = REDIS_PROBE_TIMEOUT_MS) {
  try {
    await probeRedis(url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Like `redisAnswers`, for commands that cannot work without Redis.
 * @throws UsageError `cannot reach Redis at <url>: <reason>` (password masked).
 */
export async function requireRedis(url: string, timeoutMs = REDIS_PROBE_TIMEOUT_MS) {
  try {
    await probeRedis(url, timeoutMs);
  } catch (error) {
    throw new UsageError(
      `cannot reach Redis at ${displayRedisUrl(url)}: ${describeRedisError(error, timeoutMs)}`,
    );
  }
}

async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const client = openRedis({
    url,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: "rlm-cli-probe",
  });
  // With retries off, `connect()` rejects with a bare "Connection is closed."; the cause
  // (ECONNREFUSED, ENOTFOUND, …) arrives on the error event.
  let cause: unknown;
  client.redis.on("error", (error) => {
    cause ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await client.redis.connect();
        const reply = await client.redis.ping();
        if (reply !== "PONG") throw new Error(`unexpected PING reply ${reply}`);
      })(),
      deadline,
    ]);
  } catch (error) {
    throw error instanceof ProbeTimeout ? error : (cause ?? error);
  } finally {
    clearTimeout(timer);
    client.redis.disconnect();
  }
}

class ProbeTimeout extends Error {}

function describeRedisError(error: unknown, timeoutMs: number): string {
  if (error instanceof ProbeTimeout) return `no answer within ${timeoutMs / 1000} s`;
  const code = (error as { code?: unknown }).code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ETIMEDOUT") return `no answer within ${timeoutMs / 1000} s`;
  const message = error instanceof Error ? error.message : String(error);
  if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) return "authentication failed";
  return message.split("\n")[0] ?? message;
}

/**
 * Deletes every key under `prefix:` (SCAN + UNLINK in batches). For the demo's and the
 * tests' throw-away prefixes; never call it on a production prefix.
 * @returns how many keys were deleted.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_.:{}-]+$/.test(prefix)) throw new Error(`unsafe key prefix ${prefix}`);
  const client = openRedis({
    url,
    maxRetriesPerRequest: 1,
    connectionName: "rlm-cli-cleanup",
  });
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) deleted += await client.redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await closeRedis(client);
  }
  return deleted;
}
