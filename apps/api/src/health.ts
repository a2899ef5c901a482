import { type OwnedRedis, openRedis, type RlmConnection } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { healthRouteSchema } from "./common-schemas.js";

/** How long `/health` waits for Redis to answer PING. */
export const HEALTH_PING_TIMEOUT_MS = 1_000;

/** The `/health` body. */
export interface HealthBody {
  status: "ok" | "degraded";
  redis: "ok" | "unreachable";
}

/**
 * Registers `GET /health` (no authentication: load balancers and orchestrators call
 * it): 200 when Redis answers PING within a second, else 503. Returns a function that
 * closes the probe connection when the server opened it.
 */
export function registerHealth(
  app: FastifyInstance,
  connection: RlmConnection,
): () => Promise<void> {
  const probe = openProbe(connection);
  // Declared in a plugin, so that it is added after the OpenAPI plugin that collects routes.
  app.register(async (scope) => {
    scope.get("/health", { schema: healthRouteSchema }, async (_request, reply) => {
      const healthy = await pingWithin(probe, HEALTH_PING_TIMEOUT_MS);
      const body: HealthBody = healthy
        ? { status: "ok", redis: "ok" }
        : { status: "degraded", redis: "unreachable" };
      return reply
        .code(healthy ? 200 : 503)
        .header("cache-control", "no-store")
        .send(body);
    });
  });
  return async () => {
    // Not `quit()`: during an outage it would wait for Redis to come back, and a probe
    // has nothing in flight worth flushing.
    if (probe.owned) probe.redis.disconnect();
  };
}

/**
 * A connection of its own: a PING queued behind a blocked or backed-up shared client
 * would say nothing about Redis. One retry only, so PINGs issued during an outage fail
 * instead of piling up until Redis returns (a given client is used as is).
 */
function openProbe(connection: RlmConnection): OwnedRedis {
  if (isClient(connection)) return openRedis(connection);
  return openRedis({ ...connection, maxRetriesPerRequest: 1, connectionName: "rlm-api-health" });
}

function isClient(connection: RlmConnection): connection is OwnedRedis["redis"] {
  return typeof (connection as { duplicate?: unknown }).duplicate === "function";
}

async function pingWithin(probe: OwnedRedis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const ping = probe.redis.ping().then(
      (reply) => reply === "PONG",
      () => false,
    );
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
