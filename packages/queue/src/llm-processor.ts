import {
  answeredSubCall,
  failedSubCall,
  type ModelClient,
  type SubCallRecord,
  subCallMessages,
  toRlmError,
} from "@rlm/core";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { AnalysisStore } from "./analysis-store.js";
import type { ContextStore } from "./context-store.js";
import { type LlmQueueJobData, type SubCallJobResult, subCallJobResult } from "./job-types.js";
import { RedisJournal } from "./redis-journal.js";

/** What the LM processor needs from its worker process. */
export interface LlmProcessorServices {
  redis: Redis;
  prefix: string;
  contexts: ContextStore;
  store: AnalysisStore;
  /**
   * Client for sub-calls. It should NOT retry rate limits itself (`retryRateLimits:
   * false`): a 429 pauses the whole queue instead (BullMQ rate limiting), so every
   * worker backs off together rather than each one hammering the provider.
   */
  model: ModelClient;
  /** The worker, for `rateLimit`; set once the Worker exists. */
  worker: () => Worker | undefined;
  /** Pause when a 429 gave no Retry-After. Default 1000 ms. */
  defaultRateLimitMs?: number;
}

/**
 * Processes `rlm-llm` jobs: one plain model call per `recursiveLm` at the last depth.
 * The Redis journal is the memo: a call whose record exists is never requested again,
 * even when its job was removed and re-added or retried after a crash.
 */
export function createLlmProcessor(services: LlmProcessorServices) {
  return async function processLlmJob(job: Job<LlmQueueJobData>): Promise<SubCallJobResult> {
    const data = job.data;
    const journal = new RedisJournal({
      redis: services.redis,
      analysisId: data.analysisId,
      prefix: services.prefix,
    });
    // Three independent reads, sent together (one round trip instead of three in series):
    // the memo, the cancel flag and the sub-context. The context read is wasted only when
    // the call turns out to be memoised or cancelled.
    const [existing, cancelled, context] = await Promise.all([
      journal.get(data.journalKey),
      services.store.isCancelRequested(data.analysisId),
      services.contexts.get(data.contextRef),
    ]);
    if (existing?.kind === "sub") return subCallJobResult(existing);
    if (cancelled) {
      // Not journaled: the analysis is over, and nothing must replay as an answer.
      return subCallJobResult(
        failedSubCall(
          { argumentsHash: "", query: data.query, contextChars: 0 },
          { code: "cancelled", message: "the analysis was cancelled" },
        ),
      );
    }

    const text = typeof context === "string" ? context : JSON.stringify(context);
    const identity = { argumentsHash: "", query: data.query, contextChars: text.length };
    const startedAt = Date.now();
    let record: SubCallRecord;
    try {
      const response = await services.model.complete({
        model: data.model,
        messages: subCallMessages(data.query, text.length > 0 ? text : undefined),
        ...(data.maxOutputTokens === undefined ? {} : { maxOutputTokens: data.maxOutputTokens }),
      });
      record = answeredSubCall(identity, response, Date.now() - startedAt);
    } catch (error) {
      const failureError = toRlmError(error);
      if (failureError.code === "rate_limited") {
        const worker = services.worker();
        const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
        if (worker) {
          await worker.rateLimit(retryAfter ?? services.defaultRateLimitMs ?? 1_000);
          throw Worker.RateLimitError();
        }
      }
      const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
      if (failureError.retryable && attemptsLeft > 0) throw failureError;
      // Final: journal the failure so the code sees it and replays agree.
      record = failedSubCall(identity, failureError, Date.now() - startedAt);
    }
    const stored = await journal.putIfAbsent(data.journalKey, record);
    if (stored.kind !== "sub") throw new UnrecoverableError("journal holds a non sub-call record");
    return subCallJobResult(stored);
  };
}
