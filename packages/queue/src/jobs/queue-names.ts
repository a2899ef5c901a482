/**
 * BullMQ queue names. No `:` (BullMQ uses it to build keys). Roots and nested RLM
 * sub-analyses share `rlm-root`: both run the iteration loop. Plain model calls go to
 * `rlm-llm`, so LM workers scale (and are rate-limited) apart from root workers.
 */
export const QueueName = {
  root: "rlm-root",
  llm: "rlm-llm",
  /** Webhook deliveries: one job per analysis that asked for one, parent of its root job. */
  webhooks: "rlm-webhooks",
} as const;

/** One of the queue names. */
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
