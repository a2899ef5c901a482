import { type RlmContext, validateAnalysisInput } from "@rlm/core";
import { InvalidInputError } from "../errors.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";

/** Input of `enqueueAnalysis`. */
export interface EnqueueAnalysisInput {
  query: string;
  context: RlmContext;
  options?: SerializableEngineOptions;
  /** The same key always returns the same analysis (for the retention period). */
  idempotencyKey?: string;
  /**
   * POST the analysis's end here (an http(s) URL): a delivery job on `rlm-webhooks`,
   * added with the analysis, that its processor (the API's) runs once the analysis has
   * ended. Which hosts may be called is the processor's policy, not checked here.
   */
  webhook?: { url: string };
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Longest webhook URL (browsers and proxies agree on about this much). */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

/** Checks an enqueue's input: throws `invalid_input` with a message a person can act on. */
export function validateInput(input: EnqueueAnalysisInput): void {
  if (typeof input !== "object" || input === null) {
    throw new InvalidInputError("the input must be an object with query and context");
  }
  validateAnalysisInput(input.query, input.context);
  const key = input.idempotencyKey;
  if (
    key !== undefined &&
    (typeof key !== "string" || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    throw new InvalidInputError(
      `idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  if (input.webhook !== undefined) validateWebhook(input.webhook);
}

function validateWebhook(webhook: unknown): void {
  const url = (webhook as { url?: unknown } | null)?.url;
  if (typeof url !== "string" || url.length > MAX_WEBHOOK_URL_LENGTH || !URL.canParse(url)) {
    throw new InvalidInputError(
      `webhook.url must be a URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
    );
  }
  const { protocol } = new URL(url);
  if (protocol !== "http:" && protocol !== "https:") {
    throw new InvalidInputError(`webhook.url must be http(s), not ${protocol}`);
  }
}

/** Per-analysis options over defaults; nested `limits` and `budgets` merge per field. */
export function mergeOptions(
  defaults: SerializableEngineOptions,
  options: SerializableEngineOptions,
): SerializableEngineOptions {
  // Hooks cannot travel in job data; drop them if an untyped caller passed them.
  const {
    signal: _s,
    onEvent: _e,
    ...own
  } = options as SerializableEngineOptions & {
    signal?: unknown;
    onEvent?: unknown;
  };
  const merged: SerializableEngineOptions = { ...defaults, ...own };
  if (defaults.limits || own.limits) merged.limits = { ...defaults.limits, ...own.limits };
  if (defaults.budgets || own.budgets) merged.budgets = { ...defaults.budgets, ...own.budgets };
  return merged;
}
