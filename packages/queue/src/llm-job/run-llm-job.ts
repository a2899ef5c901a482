import { failSpan, SpanAttributes, setUsageAttributes } from "@rlm/core";
import type { Span } from "@opentelemetry/api";
import type { Job } from "bullmq";
import type { CancelWatch } from "../answers/cancel-watch.js";
import { firstStart } from "../jobs/first-start.js";
import type { LlmCall, LlmJobData, LlmJobResult } from "../jobs/job-types.js";
import { graceForEarlierHolder, wasTakenOver } from "../jobs/stalled-grace.js";
import { inJobSpan, JobSpanAttributes, JobSpanNames } from "../observing/job-trace.js";
import type { ContextStore } from "../storage/context-store.js";
import type { RedisClient } from "../storage/redis-client.js";
import { RedisJournal } from "../storage/redis-journal.js";
import { type CallOutcome, type CallRunnerServices, runCall } from "./call-runner.js";
import type { CallSlots } from "./call-slots.js";

/** What running an LM job needs from its worker process. */
export interface LlmJobServices {
  /** The process's call slots, shared with the calls its own root runs make. */
  slots: CallSlots;
  runner: CallRunnerServices;
  redis: RedisClient;
  prefix: string;
  contexts: ContextStore;
  /** Aborts the calls of an analysis once it is cancelled or has ended. */
  cancelWatch?: CancelWatch;
}

/**
 * How a job's run ended: its calls answered (or cancelled), or sent back to retry. When
 * done, `slotKept` says a call slot is still taken for the job: its completion uses it
 * (to take the next job) or gives it back.
 */
export type LlmJobOutcome =
  { kind: "done"; result: LlmJobResult; slotKept: boolean } | { kind: "retry"; error: Error };

/**
 * Makes an LM job's calls that are not journaled yet, each within a call slot of the
 * process (`holding`: one is taken for the job already, and goes to its first call).
 * A call that fails retryably sends the whole job back (`retry`), with the queue's
 * backoff; the calls answered meanwhile are in the journal, so the retry makes only the
 * missing ones.
 */
export async function runLlmJob(
  job: Job<LlmJobData, LlmJobResult>,
  holding: boolean,
  services: LlmJobServices,
): Promise<LlmJobOutcome> {
  const { slots } = services;
  // The slot of the job's last call to end stays taken (`slotKept`): the job's completion
  // asks for the next job with it (see `LlmJobPuller`); released, the fetch loop took it
  // first and the completion could never chain. The job's own slot if no call was left.
  const slot = { held: holding, kept: false, ended: false };
  try {
    const outcome = await runCalls(job, slot, services);
    if (outcome.kind === "done") {
      const slotKept = slot.kept || slot.held;
      slot.kept = slot.held = false;
      return { ...outcome, slotKept };
    }
    return outcome;
  } finally {
    slot.ended = true;
    if (slot.kept) slots.release();
    if (slot.held) slots.release();
  }
}

interface JobSlot {
  /** The slot taken for the job, not yet given to a call. */
  held: boolean;
  /** The last call's slot, kept for the completion. */
  kept: boolean;
  /** The run is over: a call ending now gives its slot back. */
  ended: boolean;
}

async function runCalls(
  job: Job<LlmJobData, LlmJobResult>,
  slot: JobSlot,
  services: LlmJobServices,
): Promise<{ kind: "done"; result: LlmJobResult } | { kind: "retry"; error: Error }> {
  const { data } = job;
  const { slots, runner, contexts } = services;
  const result: LlmJobResult = { answered: 0, failed: 0, memoized: 0, cancelled: 0 };
  let calls = data.calls;
  // The slot taken for the job goes to its first call.
  const takeSlot = async () => {
    if (slot.held) slot.held = false;
    else await slots.take();
  };
  if (!firstStart(job)) {
    // Taken over from a worker whose lock lapsed: that worker may be alive and about to
    // journal answers it holds (Redis was away); they land before the memo is read.
    if (wasTakenOver(job)) await graceForEarlierHolder();
    // Run before (a retry, a crash): the memo of every call, in one round trip. On a
    // first start its calls are new: the root adds a call only when the journal lacks it.
    const journal = new RedisJournal({
      redis: services.redis,
      analysisId: data.analysisId,
      prefix: services.prefix,
    });
    const existing = await journal.getMany(calls.map((call) => call.journalKey));
    calls = calls.filter((_call, index) => existing[index]?.kind !== "sub");
    result.memoized = data.calls.length - calls.length;
  }
  const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
  // Watched from now: a call waiting for a slot is dropped once its analysis stops.
  const cancel = services.cancelWatch?.hold(data.analysisId);
  let retry: Error | undefined;
  let unended = calls.length;
  try {
    await Promise.all(
      calls.map((call) =>
        // The call's span is a child of its sub-call's, in the root's run.
        inJobSpan(JobSpanNames.llmCall, call.trace, callAttributes(job, call), async (span) => {
          await takeSlot();
          try {
            for (;;) {
              if (retry) return; // the job goes back to the queue: not started now
              const outcome = await runCall(
                runner,
                data,
                {
                  journalKey: call.journalKey,
                  query: call.query,
                  // Read within its slot: a job's large chunks are not all held at once.
                  text: async () => {
                    const context = await contexts.get(call.contextRef);
                    return typeof context === "string" ? context : JSON.stringify(context);
                  },
                  ...(call.schema ? { schema: call.schema } : {}),
                },
                {
                  canRetry: attemptsLeft > 0,
                  deliverHere: true,
                  lane: "job",
                  ...(cancel ? { signal: cancel.signal } : {}),
                },
              );
              traceCallOutcome(span, outcome);
              if (outcome.kind === "rate_limited") continue; // after the provider's pause
              if (outcome.kind === "retry") retry ??= outcome.error;
              else if (outcome.kind === "cancelled") result.cancelled += 1;
              else {
                result.answered += 1;
                if (outcome.record.error) result.failed += 1;
              }
              return;
            }
          } finally {
            unended -= 1;
            if (unended === 0 && !slot.ended) slot.kept = true;
            else slots.release();
          }
        }),
      ),
    );
  } finally {
    cancel?.release();
  }
  // A retry (with backoff) makes the calls still missing.
  return retry ? { kind: "retry", error: retry } : { kind: "done", result };
}

function callAttributes(job: Job<LlmJobData, LlmJobResult>, call: LlmCall) {
  return {
    [SpanAttributes.analysisId]: job.data.analysisId,
    [SpanAttributes.depth]: job.data.depth,
    [SpanAttributes.subCallKey]: call.journalKey,
    [SpanAttributes.requestModel]: job.data.model,
    [JobSpanAttributes.system]: "bullmq",
    [JobSpanAttributes.destination]: job.queueName,
    [JobSpanAttributes.operation]: "process",
    [JobSpanAttributes.messageId]: job.id ?? "",
  };
}

/** A try of the call on its span: how it ended, and the usage of an answer. */
function traceCallOutcome(span: Span, outcome: CallOutcome): void {
  if (!span.isRecording()) return;
  span.setAttribute(JobSpanAttributes.callOutcome, outcome.kind);
  if (outcome.kind !== "answered") return;
  const { record } = outcome;
  setUsageAttributes(span, record.usage, Object.keys(record.byModel));
  if (record.error) failSpan(span, record.error);
}
