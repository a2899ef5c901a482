import {
  completedSubCall,
  completeSubCall,
  failedSubCall,
  type ModelClient,
  type SubCallRecord,
  toRlmError,
} from "@rlm/core";
import { setTimeout as sleep } from "node:timers/promises";
import type { AnswerWriter } from "../answers/answer-writer.js";
import type { CallHeader, PlainCall } from "../sub-calls/call-lane.js";
import { notify, type Observer, type WorkerObservation } from "../observing/observations.js";
import type { CallAdmission } from "./call-admission.js";

/** What a worker process's calls need, whether its own runs started them or a job did. */
export interface CallRunnerServices {
  /**
   * Client for sub-calls. It should NOT retry rate limits itself (`retryRateLimits:
   * false`): a 429 pauses every worker instead, so they back off together rather than
   * each one hammering the provider.
   */
  model: ModelClient;
  admission: CallAdmission;
  /** Journals each answer and sends it on its live way back. */
  writer: AnswerWriter;
  /** Pause when a 429 gave no Retry-After. Default 1000 ms. */
  defaultRateLimitMs?: number;
  /** Told how each try ended (metrics). */
  observe?: Observer<WorkerObservation>;
}

/** How one try of a call ended. */
export type CallOutcome =
  /** Journaled (an answer, or an error the code will see): the stored record. */
  | { kind: "answered"; record: SubCallRecord }
  /** The analysis was cancelled or ended: nothing journaled (nothing must replay). */
  | { kind: "cancelled" }
  /** A 429: every call waits for the provider's pause (set already), then tries again. */
  | { kind: "rate_limited"; ms: number }
  /** A retryable failure with tries left: tried again later, nothing journaled. */
  | { kind: "retry"; error: Error };

/** How a try is made. */
export interface CallTry {
  /** False on the last try: a retryable failure is journaled as the call's error. */
  canRetry: boolean;
  /** Hand the answer to a run of this process waiting for it (see `AnswerWriter`). */
  deliverHere: boolean;
  /** Aborted once the analysis is cancelled or has ended (`CancelWatch`). */
  signal?: AbortSignal;
  /** For a run of this process (`local`), or for an LM job it took (`job`). */
  lane: "local" | "job";
}

/**
 * Makes one try of a plain call: waits for the call admission (the provider's pause, the
 * global rate limit), asks the model, and journals the outcome before anyone uses it.
 */
export async function runCall(
  services: CallRunnerServices,
  header: CallHeader,
  call: PlainCall,
  how: CallTry,
): Promise<CallOutcome> {
  const outcome = await tryCall(services, header, call, how);
  if (services.observe) {
    const error = outcome.kind === "answered" ? outcome.record.error : undefined;
    notify(services.observe, {
      type: "call_try",
      analysisId: header.analysisId,
      model: header.model,
      lane: how.lane,
      outcome: error ? "failed" : outcome.kind,
      ...(error ? { errorCode: error.code } : {}),
    });
  }
  return outcome;
}

async function tryCall(
  services: CallRunnerServices,
  header: CallHeader,
  call: PlainCall,
  how: CallTry,
): Promise<CallOutcome> {
  await services.admission.admit();
  if (how.signal?.aborted) return { kind: "cancelled" };
  const text = await call.text();
  if (how.signal?.aborted) return { kind: "cancelled" };
  const identity = { argumentsHash: "", query: call.query, contextChars: text.length };
  const startedAt = Date.now();
  let record: SubCallRecord;
  try {
    // One model call, or for a typed call up to two more (see `completeSubCall`).
    const completion = await completeSubCall({
      client: services.model,
      call: (request) => services.model.complete(request),
      request: {
        model: header.model,
        analysisId: header.analysisId,
        ...(header.maxOutputTokens === undefined
          ? {}
          : { maxOutputTokens: header.maxOutputTokens }),
        ...(how.signal ? { signal: how.signal } : {}),
      },
      query: call.query,
      text: text.length > 0 ? text : undefined,
      ...(call.schema ? { schema: call.schema } : {}),
    });
    record = completedSubCall(identity, completion, Date.now() - startedAt);
  } catch (error) {
    if (how.signal?.aborted) return { kind: "cancelled" };
    const failure = toRlmError(error);
    if (failure.code === "rate_limited") {
      const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
      const ms = retryAfter ?? services.defaultRateLimitMs ?? 1_000;
      await services.admission.pause(ms);
      return { kind: "rate_limited", ms };
    }
    if (failure.retryable && how.canRetry) return { kind: "retry", error: failure };
    // Final: journal the failure so the code sees it and replays agree.
    record = failedSubCall(identity, failure, Date.now() - startedAt);
  }
  return { kind: "answered", record: await journal(services, header, call, record, how) };
}

/** Waits before each new try of a journal write that failed (Redis unreachable a moment). */
const JOURNAL_RETRY_MS = [50, 250, 1_000];

/**
 * Journals a call's outcome, trying again a few times when Redis fails: the model call is
 * paid already, and a failure here would make the call again (a job's retry) or show the
 * code an error for an answer it has.
 */
async function journal(
  services: CallRunnerServices,
  header: CallHeader,
  call: PlainCall,
  record: SubCallRecord,
  how: CallTry,
): Promise<SubCallRecord> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await services.writer.journal(
        header.analysisId,
        call.journalKey,
        record,
        how.deliverHere,
      );
    } catch (error) {
      const wait = JOURNAL_RETRY_MS[attempt];
      if (wait === undefined) throw error;
      await sleep(wait);
    }
  }
}
