import { createLlmQueue, createRootQueue, type QueueTopology } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import { errorResponses } from "../common-schemas.js";
import { type AnalysisMetrics, analysisMetrics } from "./analysis-metrics.js";
import { QueueMetrics } from "./queue-metrics.js";

/** Where the Prometheus metrics are served (Bearer, like every route but `/health`). */
export const METRICS_PATH = "/metrics";

/** How long a scrape waits for Redis before it answers without the queue figures. */
const QUEUE_READ_MS = 1_000;

/** The API's metrics: what it counts itself, and the queues read at each scrape. */
export interface ApiMetrics {
  registry: Registry;
  analyses: AnalysisMetrics;
  /** Reads the queues, then writes the registry in Prometheus's text format. */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

/** The API's metrics on `registry` (a new one by default), the queues read on `topology`. */
export function apiMetrics(topology: QueueTopology, registry = new Registry()): ApiMetrics {
  // Their own queue objects, without telemetry: reading counts must not make spans.
  const plain = {
    connection: topology.connection,
    ...(topology.prefix ? { prefix: topology.prefix } : {}),
  };
  const queues = [createRootQueue(plain), createLlmQueue(plain)];
  const figures = new QueueMetrics(registry, queues);
  return {
    registry,
    analyses: analysisMetrics(registry),
    async scrape() {
      await figures.refresh(QUEUE_READ_MS);
      return registry.metrics();
    },
    async close() {
      await Promise.allSettled(queues.map((queue) => queue.close()));
    },
  };
}

/** Route schema of `GET /metrics`. */
const metricsRouteSchema = {
  operationId: "getMetrics",
  summary: "Prometheus metrics",
  description:
    "The API's metrics in Prometheus's text format: analyses enqueued and cancelled while " +
    "queued, and the queues' depths read from Redis at each scrape (`rlm_queue_jobs` by " +
    "state, `rlm_queue_workers`, `rlm_queue_jobs_finished_total`). What happens in the " +
    "workers (model calls, tokens, cost, analyses ended) is on each worker's own " +
    "`rlm worker --metrics-port`. Takes the Bearer token like every route but /health: " +
    "give it to the scraper (`authorization.credentials` in Prometheus).",
  tags: ["meta"],
  response: {
    200: {
      description: "Metrics in the Prometheus text exposition format 0.0.4.",
      content: { "text/plain": { schema: { type: "string" } } },
    },
    ...errorResponses(401),
  },
} as const;

/** Registers `GET /metrics` (in the Bearer-authenticated scope). */
export function metricsRoute(app: FastifyInstance, metrics: ApiMetrics): void {
  app.get(METRICS_PATH, { schema: metricsRouteSchema }, async (_request, reply) => {
    const body = await metrics.scrape();
    return reply
      .header("content-type", metrics.registry.contentType)
      .header("cache-control", "no-store")
      .send(body);
  });
}
