import {
  closeRedis,
  type DuplicateOverrides,
  duplicateClient,
  isRedisClient,
  type OwnedRedis,
  openRedis,
  type RedisClient,
  type RlmConnection,
} from "@rlm/queue";
import type { RedisOptions } from "ioredis";

/**
 * Options of every connection that serves a request. A worker's connections wait
 * through an outage (commands queued until Redis is back: `maxRetriesPerRequest: null`,
 * the offline queue on), which for an HTTP request is a hang: the client gives up
 * without knowing whether its POST was queued. Here:
 *
 * - `enableOfflineQueue: false`: while the connection is down, a command fails at once
 *   ("Stream isn't writeable…") instead of waiting for a reconnect (BullMQ's advice for
 *   producers behind an HTTP API: "Failing fast when Redis is down");
 * - `maxRetriesPerRequest: 0`: commands in flight when the connection drops fail at
 *   once instead of being sent again after the reconnect;
 * - the client keeps reconnecting in the background (ioredis's default strategy, at most
 *   2 s apart), so requests succeed again as soon as Redis is back.
 *
 * No `commandTimeout`: it would also cut a legitimate 200 MB SET of a document, which
 * took up to 1.75 s here. A hung Redis is noticed by `RedisGuard`'s probe instead.
 */
export const FAIL_FAST_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
} as const satisfies RedisOptions;

/** The connections the API opens (beside the event reader's, see `EventHub`). */
export interface ApiRedis {
  /** Every request's commands: the producer, Bull Board's queues, the viewer's reads. */
  requests: RedisClient;
  /** PINGs only: `/health` and `RedisGuard` (a PING behind a busy connection proves nothing). */
  probe: RedisClient;
  /** Resolves once both are connected, or after `timeoutMs` (Redis down at start: 503s). */
  connected(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** `CLIENT SETNAME` of the API's connections: `rlm-api:<prefix>:<role>` (see `CLIENT LIST`). */
export function apiConnectionName(prefix: string, role: string): string {
  return `rlm-api:${prefix}:${role}`;
}

/**
 * Opens the API's fail-fast connections from the server's connection: new clients from
 * options, or duplicates of a given ioredis client or cluster (itself left alone).
 */
export function openApiRedis(connection: RlmConnection, prefix: string): ApiRedis {
  const requests = openFailFast(connection, apiConnectionName(prefix, "requests"));
  const probe = openFailFast(connection, apiConnectionName(prefix, "probe"));
  return {
    requests: requests.redis,
    probe: probe.redis,
    async connected(timeoutMs) {
      await Promise.all([whenReady(requests.redis, timeoutMs), whenReady(probe.redis, timeoutMs)]);
    },
    async close() {
      await Promise.all([closeRedis(requests), closeRedis(probe)]);
    },
  };
}

/**
 * A connection of the given options with `overrides` on top, owned by the caller. On a
 * cluster the overrides apply to each node's connection (`enableOfflineQueue` to the
 * cluster client too).
 */
export function openConnection(
  connection: RlmConnection,
  overrides: DuplicateOverrides & { connectionName: string },
): OwnedRedis {
  // A duplicate listens to its errors: they surface as rejected commands.
  if (isRedisClient(connection))
    return { redis: duplicateClient(connection, overrides), owned: true };
  return openRedis({ ...connection, ...overrides });
}

function openFailFast(connection: RlmConnection, connectionName: string): OwnedRedis {
  return openConnection(connection, { ...FAIL_FAST_OPTIONS, connectionName });
}

/** Resolves when `redis` is ready, or after `timeoutMs`, whichever comes first. */
async function whenReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    onReady = resolve;
    timer = setTimeout(resolve, timeoutMs);
    redis.once("ready", onReady);
  });
  clearTimeout(timer);
  if (onReady) redis.off("ready", onReady);
}
