import type { QueueJobSettings } from "@rlm/queue";
import { ApiError, ApiErrorCode } from "../api-error.js";
import { checkWebhookUrl, WebhookUrlError } from "./webhook-url.js";

/** Webhooks of an API server (`rlm serve`: `RLM_WEBHOOK_SECRET`, `RLM_WEBHOOK_ALLOW_PRIVATE`). */
export interface WebhookOptions {
  /** The signing secret, `whsec_` + base64 of at least 16 bytes. */
  secret: string;
  /** Let webhooks call loopback and private addresses (tests, a private network). */
  allowPrivate?: boolean;
  /** Retries of deliveries: default 8 tries, 5 s doubling (about 10 minutes in all). */
  jobs?: QueueJobSettings;
  /** One try's time limit. Default 15 s. */
  timeoutMs?: number;
  /** Deliveries at once in this process. Default 16. */
  concurrency?: number;
  /** Run the delivery worker in this process. Default true. */
  deliver?: boolean;
}

/**
 * Checks a requested webhook before anything is enqueued: the server must sign
 * deliveries (a secret), and the URL must be one it may call. Both refusals are 400s
 * whose message says what to change.
 */
export async function checkRequestedWebhook(
  url: string,
  options: WebhookOptions | undefined,
): Promise<void> {
  if (options === undefined) {
    throw new ApiError(
      400,
      ApiErrorCode.invalidRequest,
      "webhooks are off on this server: it needs RLM_WEBHOOK_SECRET (whsec_…) to sign deliveries",
    );
  }
  try {
    await checkWebhookUrl(url, { allowPrivate: options.allowPrivate === true });
  } catch (error) {
    if (error instanceof WebhookUrlError) {
      throw new ApiError(400, ApiErrorCode.invalidRequest, error.message);
    }
    throw error;
  }
}
