import type { ConnectionOptions as TlsOptions } from "node:tls";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/** ioredis options, plus an optional `url` (`redis://…`) as BullMQ also accepts. */
export interface RedisConnectionOptions extends RedisOptions {
  url?: string;
}

/**
 * A client of one Redis or of a Redis Cluster. Both have the same command methods; what
 * differs (duplicating, pub/sub, reading every node) goes through the helpers below.
 */
export type RedisClient = Redis | Cluster;

/**
 * How to reach Redis: a client (shared, never closed by us) or options from which each
 * component opens (and later closes) its own connection to one Redis.
 *
 * A Redis Cluster is given as an ioredis `Cluster` (see `openCluster`): BullMQ can open
 * a connection of its own from options only for one Redis. Narrower than BullMQ's
 * `ConnectionOptions` on purpose: our own stores run Lua scripts and streams through
 * ioredis, so other clients are out. Every form is a valid BullMQ connection too.
 */
export type RlmConnection = RedisClient | RedisConnectionOptions;

/** A Redis client and whether the holder must close it. */
export interface OwnedRedis {
  redis: RedisClient;
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

/**
 * How long a reconnected client waits before asking again whether Redis has finished
 * loading its data (ioredis's `maxLoadingRetryTime`). ioredis waits the server's loading
 * ETA, at least 1 s when the ETA reads 0: a Redis restarted with AOF held every client's
 * offline queue (answers to journal among them) a second longer than the reconnect.
 */
export const LOADING_RECHECK_MS = 100;

/** True for a client (one Redis or a cluster) rather than options. */
export function isRedisClient(connection: RlmConnection): connection is RedisClient {
  return connection instanceof Redis || connection instanceof Cluster;
}

/** Uses a given client as is, or opens one from options. */
export function openRedis(connection: RlmConnection): OwnedRedis {
  if (isRedisClient(connection)) return { redis: connection, owned: false };
  const { url, ...rest } = connection;
  // maxRetriesPerRequest null: commands wait for a reconnect instead of failing after
  // 20 tries, the behaviour BullMQ requires and long-running workers want.
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    retryStrategy: promptReconnect,
    maxLoadingRetryTime: LOADING_RECHECK_MS,
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

/** A Redis Cluster's seed nodes and what each node connection needs. */
export interface ClusterConnectionOptions {
  /** Some (or all) of the cluster's nodes; the others are found from them. */
  nodes: ReadonlyArray<{ host: string; port: number }>;
  /** ACL user name (Redis 6+), as in `redis://user:pass@host`. */
  username?: string;
  password?: string;
  /** TLS to every node (`rediss://`): `true` for the defaults, or Node's TLS options. */
  tls?: boolean | TlsOptions;
  /** Options of each node's connection, under the ones above. */
  redisOptions?: RedisOptions;
  /** Options of the cluster client itself (ioredis `ClusterOptions`), over our defaults. */
  clusterOptions?: ClusterOptions;
}

/**
 * Opens an ioredis `Cluster` with the settings a worker and BullMQ need: commands wait
 * for a reconnect (`maxRetriesPerRequest: null` on each node, as `openRedis` does) and
 * it reconnects as promptly (`promptReconnect`), auto-pipelining (the commands of a
 * fan-out issued in one tick leave as one write per node), and the addresses the cluster
 * announces used as they are with TLS (the certificate names the host, not its IP;
 * ioredis's advice for managed clusters). The caller closes it (`quit()`); components
 * it is given to leave it open, and BullMQ's duplicates of it keep its settings.
 */
export function openCluster(options: ClusterConnectionOptions): Cluster {
  const tls = options.tls === true ? {} : options.tls || undefined;
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: null,
    ...options.redisOptions,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(tls === undefined ? {} : { tls }),
  };
  const cluster = new Cluster(
    options.nodes.map(({ host, port }) => ({ host, port })),
    {
      enableAutoPipelining: true,
      clusterRetryStrategy: promptReconnect,
      ...(tls === undefined
        ? {}
        : {
            dnsLookup: (address: string, callback: (error: null, address: string) => void) =>
              callback(null, address),
          }),
      ...options.clusterOptions,
      redisOptions,
    },
  );
  cluster.on("error", () => {});
  return cluster;
}

/** Settings a duplicate connection may change (they apply to each node of a cluster). */
export interface DuplicateOverrides {
  connectionName?: string;
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  connectTimeout?: number;
  /** A cluster's SSUBSCRIBE through one subscriber per master (ignored for one Redis). */
  shardedSubscribers?: boolean;
}

/**
 * A new connection with the settings of `client` and `overrides` on top, owned by the
 * caller: for a subscriber or a blocking read, which can serve nothing else. Errors are
 * listened to (they surface as rejected commands).
 */
export function duplicateClient(
  client: RedisClient,
  overrides: DuplicateOverrides = {},
): RedisClient {
  const { enableOfflineQueue, shardedSubscribers, ...nodeOverrides } = overrides;
  let copy: RedisClient;
  if (client instanceof Cluster) {
    copy = client.duplicate(undefined, {
      ...client.options,
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(shardedSubscribers === undefined ? {} : { shardedSubscribers }),
      redisOptions: { ...client.options.redisOptions, ...nodeOverrides },
    });
  } else {
    copy = client.duplicate({
      ...nodeOverrides,
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    });
  }
  copy.on("error", () => {});
  return copy;
}

/**
 * The connections of every master: one Redis's own client, or each master node of a
 * cluster (for commands that read one node's keys, such as SCAN). The cluster's slot
 * map must be loaded (any command answered, or `ready`).
 */
export function masterNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}
