import {
  type AnalysisView,
  bullmqOptions,
  closeRedis,
  createRootQueue,
  QueueName,
  type RlmConnection,
  type WebhookJobData,
  type WebhookJobResult,
} from "@rlm/queue";
import { Worker } from "bullmq";
import type { FastifyBaseLogger } from "fastify";
import { apiConnectionName, openConnection } from "../api-redis.js";
import { createDeliveryProcessor } from "./delivery.js";
import { secretKey } from "./signature.js";
import { recordUnrecordedEnd } from "./unrecorded-end.js";

/** Default time limit of one try: receivers should answer fast and work later. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;
/** Default deliveries in flight at once. */
export const DEFAULT_DELIVERY_CONCURRENCY = 16;

/** Options of `startWebhookDeliveries`. */
export interface WebhookDeliveriesOptions {
  connection: RlmConnection;
  prefix: string;
  secret: string;
  allowPrivate: boolean;
  timeoutMs?: number;
  concurrency?: number;
  /** The analysis's view (the API's producer). */
  getAnalysis(id: string): Promise<AnalysisView | null>;
  log: FastifyBaseLogger;
}

/** The running delivery worker. */
export interface WebhookDeliveries {
  close(): Promise<void>;
}

/**
 * Runs the `rlm-webhooks` worker in this process (`rlm serve`): each delivery job, once
 * its analysis's root job has ended, POSTs the analysis's end (see
 * `createDeliveryProcessor`). Its connection waits through Redis outages, as a worker's
 * does: deliveries wait in Redis while the API is down or Redis is away, and go out once
 * both are back (starting it does not wait for Redis). Each try is a log line: `info` when delivered, `warn` when it will be
 * tried again, `error` when it has given up.
 */
export function startWebhookDeliveries(options: WebhookDeliveriesOptions): WebhookDeliveries {
  secretKey(options.secret); // a bad secret fails here, not at the first delivery
  const { redis } = openConnection(options.connection, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectionName: apiConnectionName(options.prefix, "webhooks"),
  });
  const topology = { connection: redis, prefix: options.prefix };
  const rootQueue = createRootQueue(topology);
  const processor = createDeliveryProcessor({
    secret: options.secret,
    allowPrivate: options.allowPrivate,
    timeoutMs: options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
    getAnalysis: options.getAnalysis,
    recordUnrecordedEnd: (view) =>
      recordUnrecordedEnd({ redis, prefix: options.prefix, rootQueue }, view),
  });
  const worker = new Worker<WebhookJobData, WebhookJobResult>(QueueName.webhooks, processor, {
    ...bullmqOptions(topology),
    concurrency: options.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY,
  });
  const { log } = options;
  worker.on("error", (error) => log.warn({ err: error }, "webhook worker error"));
  worker.on("completed", (job, result) => {
    log.info(
      { analysisId: job.data.analysisId, attempt: job.attemptsMade, ...result },
      result.skipped ? `webhook not sent: ${result.skipped}` : "webhook delivered",
    );
  });
  worker.on("failed", (job, error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = job.attemptsMade >= attempts || error.name === "UnrecoverableError";
    const fields = { analysisId: job.data.analysisId, attempt: job.attemptsMade, attempts };
    if (final) log.error({ ...fields, reason: error.message }, "webhook delivery gave up");
    else log.warn({ ...fields, reason: error.message }, "webhook delivery failed; tried again");
  });
  return {
    async close() {
      await worker.close();
      await rootQueue.close();
      await closeRedis({ redis, owned: true });
    },
  };
}
