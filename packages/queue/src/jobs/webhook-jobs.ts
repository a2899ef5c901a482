import { type JobsOptions, Queue } from "bullmq";
import {
  defaultJobOptions,
  bullmqOptions,
  type QueueJobSettings,
  type QueueTopology,
} from "./queues.js";
import { QueueName } from "./queue-names.js";

/**
 * The job of an analysis's webhook delivery on `rlm-webhooks`. It is added with the
 * analysis, as the parent of its root job (a BullMQ flow), so it waits in
 * waiting-children until the root job has ended, however it ends; then whoever
 * processes the queue (the API's delivery worker) reads the record and POSTs it.
 */
export interface WebhookJobData {
  analysisId: string;
  /** Where to POST: an http(s) URL, checked by the producer (and again before each try). */
  url: string;
}

/** What a delivery job returns: the receiver's status, or why nothing was sent. */
export interface WebhookJobResult {
  status?: number;
  skipped?: string;
}

/** The `rlm-webhooks` queue. */
export type WebhookQueue = Queue<WebhookJobData, WebhookJobResult, string>;

/**
 * Defaults for `rlm-webhooks`: 8 tries with exponential backoff from 5 s (5, 10, 20 … 320 s
 * between them: the last about 10.6 minutes after the first), so a receiver that is down
 * for a few minutes still gets its delivery. Failed deliveries stay 30 days for a retry
 * by hand (Bull Board).
 */
export const WEBHOOK_JOB_DEFAULTS: Required<QueueJobSettings> = {
  attempts: 8,
  backoffMs: 5_000,
  keepCompletedDays: 7,
  keepCompletedCount: 100_000,
  keepFailedDays: 30,
};

/** The delivery job's id: one per analysis, so a retried enqueue never adds a second. */
export function webhookJobId(analysisId: string): string {
  return `wh-${analysisId}`;
}

/** The delivery job's options (a flow's parent gets no queue defaults: they are written out). */
export function webhookJobOptions(analysisId: string, settings?: QueueJobSettings): JobsOptions {
  return {
    ...defaultJobOptions(settings, WEBHOOK_JOB_DEFAULTS),
    jobId: webhookJobId(analysisId),
  };
}

/** The delivery job's readable name (Bull Board): the analysis and the receiver's host. */
export function webhookJobName(analysisId: string, url: string): string {
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // The producer checked the URL; a name is only a label.
  }
  return `webhook ${analysisId} → ${host}`;
}

/** Opens the `rlm-webhooks` queue (Bull Board, tests). Close it when done. */
export function createWebhookQueue(
  topology: QueueTopology,
  settings?: QueueJobSettings,
): WebhookQueue {
  const queue: WebhookQueue = new Queue(QueueName.webhooks, {
    ...bullmqOptions(topology),
    defaultJobOptions: defaultJobOptions(settings, WEBHOOK_JOB_DEFAULTS),
  });
  // As the other queues: connection trouble surfaces as rejected calls, not a crash.
  queue.on("error", () => {});
  return queue;
}
