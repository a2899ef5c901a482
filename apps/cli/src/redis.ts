import {
  closeRedis,
  masterNodes,
  openCluster,
  openRedis,
  type RedisClient,
  type RlmConnection,
} from "@rlm/queue";
import type { ClusterNodesSetting } from "./cluster-nodes.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./usage-error.js";

/** How long the start-up PING waits for Redis. */
export const REDIS_PROBE_TIMEOUT_MS = 2_000;

/**
 * Where the CLI's Redis is: one Redis by its URL (`REDIS_URL`), or a Redis Cluster by
 * some of its nodes (`REDIS_CLUSTER_NODES`, which wins when set).
 */
export type RedisTarget = { url: string } | { cluster: ClusterNodesSetting };

/** The target the environment names. */
export function redisTarget(env: Pick<CliEnv, "REDIS_URL" | "REDIS_CLUSTER_NODES">): RedisTarget {
  return env.REDIS_CLUSTER_NODES ? { cluster: env.REDIS_CLUSTER_NODES } : { url: env.REDIS_URL };
}

/** The target as it may be shown: a URL with its password masked, or the cluster's nodes. */
export function displayRedis(target: RedisTarget | string): string {
  if (typeof target === "string") return displayRedisUrl(target);
  if ("url" in target) return displayRedisUrl(target.url);
  const { nodes, tls } = target.cluster;
  const shown = nodes.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`);
  return `cluster ${tls ? "(TLS) " : ""}${shown.join(",")}`;
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

/** A connection for the queue's components, and what closes it once they are closed. */
export interface QueueConnection {
  connection: RlmConnection;
  close(): Promise<void>;
}

/**
 * The connection every queue component gets. For one Redis, the URL alone: each opens
 * (and closes) its own. For a cluster, one `Cluster` client they share (BullMQ cannot
 * open a cluster from options), closed by `close` after them.
 */
export function queueConnection(target: RedisTarget): QueueConnection {
  if ("url" in target) return { connection: { url: target.url }, close: async () => {} };
  const cluster = openCluster(target.cluster);
  return {
    connection: cluster,
    async close() {
      await closeRedis({ redis: cluster, owned: true });
    },
  };
}

/**
 * One PING on a connection of its own that never retries: true when Redis answered
 * within `timeoutMs`. The queue's own connections retry for ever (what a worker wants
 * once it runs), so without this an unreachable Redis would look like a hang.
 */
export async function redisAnswers(
  target: RedisTarget | string,
  timeoutMs = REDIS_PROBE_TIMEOUT_MS,
) {
  try {
    await probeRedis(asTarget(target), timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Like `redisAnswers`, for commands that cannot work without Redis. A cluster must also
 * say `cluster_state:ok`.
 * @throws UsageError `cannot reach Redis at <target>: <reason>` (password masked).
 */
export async function requireRedis(
  target: RedisTarget | string,
  timeoutMs = REDIS_PROBE_TIMEOUT_MS,
) {
  try {
    await probeRedis(asTarget(target), timeoutMs);
  } catch (error) {
    throw new UsageError(
      `cannot reach Redis at ${displayRedis(target)}: ${describeRedisError(error, timeoutMs)}`,
    );
  }
}

/** A client that never retries nor queues, for the probe and the cleanup. */
function openOnce(target: RedisTarget, timeoutMs: number, connectionName: string): RedisClient {
  const noRetry = {
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName,
  };
  if ("url" in target) return openRedis({ url: target.url, lazyConnect: true, ...noRetry }).redis;
  return openCluster({
    ...target.cluster,
    redisOptions: noRetry,
    clusterOptions: {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      slotsRefreshTimeout: timeoutMs,
    },
  });
}

async function probeRedis(target: RedisTarget, timeoutMs: number): Promise<void> {
  const client = openOnce(target, timeoutMs, "rlm-cli-probe");
  // With retries off, `connect()` rejects with a bare "Connection is closed."; the cause
  // (ECONNREFUSED, ENOTFOUND, …) arrives on the error event.
  let cause: unknown;
  client.on("error", (error: unknown) => {
    cause ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        const reply = await client.ping();
        if (reply !== "PONG") throw new Error(`unexpected PING reply ${reply}`);
        if ("cluster" in target) {
          const info = String(await client.call("CLUSTER", "INFO"));
          const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? "unknown";
          if (state !== "ok") throw new Error(`the cluster's state is ${state}, not ok`);
        }
      })(),
      deadline,
    ]);
  } catch (error) {
    throw error instanceof ProbeTimeout ? error : (cause ?? error);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

class ProbeTimeout extends Error {}

function describeRedisError(error: unknown, timeoutMs: number): string {
  if (error instanceof ProbeTimeout) return `no answer within ${timeoutMs / 1000} s`;
  // A cluster that could not load its slots says which node failed last, and how.
  const last = (error as { lastNodeError?: unknown }).lastNodeError;
  if (last !== undefined) return describeRedisError(last, timeoutMs);
  const code = (error as { code?: unknown }).code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ETIMEDOUT") return `no answer within ${timeoutMs / 1000} s`;
  const message = error instanceof Error ? error.message : String(error);
  if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) return "authentication failed";
  if (/cluster support disabled/i.test(message)) return "not a cluster node";
  return message.split("\n")[0] ?? message;
}

/**
 * Deletes every key under `prefix:` (SCAN + UNLINK in batches, on every master of a
 * cluster). For the demo's and the tests' throw-away prefixes; never call it on a
 * production prefix.
 * @returns how many keys were deleted.
 */
export async function deleteKeysWithPrefix(
  target: RedisTarget | string,
  prefix: string,
): Promise<number> {
  if (!/^[A-Za-z0-9_.:-]+$/.test(prefix)) throw new Error(`unsafe key prefix ${prefix}`);
  const resolved = asTarget(target);
  const client =
    "url" in resolved
      ? openRedis({ url: resolved.url, maxRetriesPerRequest: 1, connectionName: "rlm-cli-cleanup" })
          .redis
      : openCluster({ ...resolved.cluster, redisOptions: { maxRetriesPerRequest: 1 } });
  let deleted = 0;
  try {
    // A cluster's slot map (its masters) is known once it answered.
    await client.ping();
    for (const node of masterNodes(client)) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
        cursor = next;
        // On a cluster one UNLINK may name keys of one slot only: one each, sent together.
        const counts = await Promise.all(
          "url" in resolved && keys.length > 0
            ? [node.unlink(...keys)]
            : keys.map((key) => node.unlink(key)),
        );
        for (const count of counts) deleted += count;
      } while (cursor !== "0");
    }
  } finally {
    await closeRedis({ redis: client, owned: true });
  }
  return deleted;
}

function asTarget(target: RedisTarget | string): RedisTarget {
  return typeof target === "string" ? { url: target } : target;
}
