import type { FastifyInstance } from "fastify";
import type { RedisClient } from "@rlm/queue";
import { healthRouteSchema } from "./common-schemas.js";
import { PING_TIMEOUT_MS, pingWithin, REDIS_RETRY_AFTER_SECONDS } from "./redis-guard.js";

/** How long `/health` waits for Redis to answer PING. */
export const HEALTH_PING_TIMEOUT_MS = PING_TIMEOUT_MS;

/** The `/health` body. */
export interface HealthBody {
  status: "ok" | "degraded";
  redis: "ok" | "unreachable";
}

/**
 * Registers `GET /health` (no authentication: load balancers and orchestrators call
 * it): 200 when Redis answers PING within a second on `probe`, else 503. The probe is a
 * connection of its own (a PING queued behind a busy connection would say nothing about
 * Redis) that fails fast: no PING waits for a reconnect.
 */
export function registerHealth(app: FastifyInstance, probe: RedisClient): void {
  // Declared in a plugin, so that it is added after the OpenAPI plugin that collects routes.
  app.register(async (scope) => {
    scope.get("/health", { schema: healthRouteSchema }, async (_request, reply) => {
      const healthy = await pingWithin(probe, HEALTH_PING_TIMEOUT_MS);
      const body: HealthBody = healthy
        ? { status: "ok", redis: "ok" }
        : { status: "degraded", redis: "unreachable" };
      reply.header("cache-control", "no-store");
      if (!healthy) reply.header("retry-after", String(REDIS_RETRY_AFTER_SECONDS));
      return reply.code(healthy ? 200 : 503).send(body);
    });
  });
}
