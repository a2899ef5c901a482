import {
  type AnalysisError,
  type AnalysisStatus,
  type AnalysisView,
  isTerminalStatus,
  type WebhookJobData,
  type WebhookJobResult,
} from "@rlm/queue";
import type { RlmResult } from "@rlm/core";
import { type Job, UnrecoverableError } from "bullmq";
import { postDelivery } from "./post-delivery.js";
import { signDelivery } from "./signature.js";
import { checkWebhookUrl, WebhookUrlError } from "./webhook-url.js";

/** The event types a delivery carries, one per way an analysis ends. */
export type WebhookEventType = "analysis.completed" | "analysis.failed" | "analysis.cancelled";

/** The JSON body of a delivery (Standard Webhooks' `{ type, timestamp, data }`). */
export interface WebhookPayload {
  type: WebhookEventType;
  /** ISO 8601: when the analysis ended. */
  timestamp: string;
  data: {
    id: string;
    status: AnalysisStatus;
    /** Completed (and failed or cancelled ones that got this far): what the engine produced. */
    result?: RlmResult;
    /** Failed: why. */
    error?: AnalysisError;
  };
}

/** A delivery's `webhook-id`: one per analysis, the same on every try (receivers deduplicate). */
export function deliveryId(analysisId: string): string {
  return `msg_${analysisId}`;
}

/** The body of an ended analysis's delivery. */
export function webhookPayload(view: AnalysisView): WebhookPayload {
  return {
    type: `analysis.${view.status}` as WebhookEventType,
    timestamp: view.updatedAt,
    data: {
      id: view.id,
      status: view.status,
      ...(view.result ? { result: view.result } : {}),
      ...(view.error ? { error: view.error } : {}),
    },
  };
}

/** What a delivery needs. */
export interface DeliveryServices {
  /** `whsec_…`: the signing secret. */
  secret: string;
  allowPrivate: boolean;
  /** One try's time limit. */
  timeoutMs: number;
  getAnalysis(id: string): Promise<AnalysisView | null>;
  /** Writes an end the root job shows but the record lacks (`recordUnrecordedEnd`). */
  recordUnrecordedEnd(view: AnalysisView): Promise<boolean>;
}

/**
 * The processor of `rlm-webhooks`: reads the ended analysis, checks its URL again (a name
 * may resolve elsewhere by now), signs and POSTs it. A 2xx completes the job; anything
 * else (an error, a timeout, another status) fails the try and BullMQ tries again with
 * backoff; a URL the policy refuses fails the job for good.
 */
export function createDeliveryProcessor(services: DeliveryServices) {
  return async function deliver(job: Job<WebhookJobData, WebhookJobResult>) {
    const { analysisId, url } = job.data;
    const view = await endedView(services, job);
    if (view === null) return { skipped: "the analysis is no longer stored" };
    const target = await checkWebhookUrl(url, { allowPrivate: services.allowPrivate }).catch(
      (error: unknown) => {
        throw refusedForGood(error);
      },
    );
    const body = JSON.stringify(webhookPayload(view));
    const headers = signDelivery(
      services.secret,
      deliveryId(analysisId),
      Math.floor(Date.now() / 1000),
      body,
    );
    const answer = await postDelivery({
      url: target,
      body,
      headers: { ...headers },
      timeoutMs: services.timeoutMs,
      allowPrivate: services.allowPrivate,
    }).catch((error: unknown) => {
      throw refusedForGood(error, `delivery to ${target.host} failed`);
    });
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`the receiver at ${target.host} answered ${answer.status}`);
    }
    return { status: answer.status };
  };
}

/**
 * The analysis's view once ended, or null when its record is gone. A record not ended
 * yet is looked at again on the next try; from the second try on, an end the root job
 * shows is written first (see `recordUnrecordedEnd`).
 */
async function endedView(
  services: DeliveryServices,
  job: Job<WebhookJobData>,
): Promise<AnalysisView | null> {
  const id = job.data.analysisId;
  const view = await services.getAnalysis(id);
  if (view === null || isTerminalStatus(view.status)) return view;
  if (job.attemptsMade > 0 && (await services.recordUnrecordedEnd(view))) {
    const ended = await services.getAnalysis(id);
    if (ended === null || isTerminalStatus(ended.status)) return ended;
  }
  throw new Error(`analysis ${id} has not recorded its end yet`);
}

/** A refused URL fails the delivery for good; anything else is tried again. */
function refusedForGood(error: unknown, context?: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof WebhookUrlError && !error.retryable) return new UnrecoverableError(message);
  return new Error(context ? `${context}: ${message}` : message);
}
