import { failedSubCall, nestedSubCall, RlmError, type RlmResult } from "@rlm/core";
import type { Job } from "bullmq";
import type { AnalysisReporter } from "../analyses/analysis-reporter.js";
import {
  isNestedJobData,
  type RootJobResult,
  type RootQueueJobData,
  type RootQueueJobResult,
  type SubCallJobResult,
  subCallJobResult,
} from "../jobs/job-types.js";
import { afterSessionEnd, recordSessionEnd } from "../sessions/session-question.js";
import {
  type AnalysisEnded,
  notify,
  type Observer,
  type WorkerObservation,
} from "../observing/observations.js";
import type { RootRun } from "./root-run.js";
import type { RootProcessorServices } from "./root-services.js";

/**
 * What a finished run leaves: a top analysis's result in its record (the terminal event
 * included, so the producer has it at once), a nested analysis's as its sub-call's record
 * in the journal, handed to its parent's run live. Returns the job's result.
 * `result.durationMs` is the whole analysis's, from when it began (`startedAt`), across
 * every run of it in any process.
 */
export async function recordOutcome(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
  run: Pick<RootRun, "startedAt" | "eventsWritten" | "machine" | "session">,
  ended: RlmResult,
): Promise<RootQueueJobResult> {
  const result: RlmResult = { ...ended, durationMs: Math.max(0, Date.now() - run.startedAt) };
  const data = job.data;
  if (!isNestedJobData(data)) {
    // A question of a session leaves what the next ones start from before it is
    // reported ended: an ended question always has it.
    if (run.session) await recordSessionEnd(services, run.session, run.machine, result, data.query);
    // The last iteration's events go out first: the stream ends with them, then the
    // terminal event.
    await run.eventsWritten();
    if (reporter && (await report(reporter, result))) {
      notify(services.observe, analysisEnded(data.analysisId, result));
    }
    if (run.session) await afterSessionEnd(services, run.session.place);
    // Its calls still queued or running in this process are not wanted any more (a
    // budget ran out mid fan-out, say); the other processes are told by the record.
    services.cancelWatch?.cancel(data.analysisId);
    return { analysisId: data.analysisId, finishReason: result.finishReason };
  }
  // Not journaled: the analysis is over, and nothing must replay as an answer.
  if (result.finishReason === "cancelled") return cancelledResult();
  const record = nestedSubCall(
    { argumentsHash: "", query: data.query, contextChars: data.contextRef.chars },
    result,
    result.durationMs,
  );
  const stored = await services.writer.journal(data.analysisId, data.journalKey, record);
  return subCallJobResult(stored);
}

/**
 * Records a top analysis's result and publishes its terminal event. False when it had
 * ended already (cancelled while its last step ran, say): nothing was changed.
 */
export async function report(reporter: AnalysisReporter, result: RlmResult): Promise<boolean> {
  if (result.finishReason === "cancelled") return reporter.cancelled(result);
  if (result.finishReason === "error") return reporter.fail(errorOf(result), result);
  return reporter.complete(result);
}

/** What the observer is told of an analysis that ended with `result`. */
export function analysisEnded(analysisId: string, result: RlmResult): AnalysisEnded {
  return {
    type: "analysis_ended",
    analysisId,
    status:
      result.finishReason === "cancelled"
        ? "cancelled"
        : result.finishReason === "error"
          ? "failed"
          : "completed",
    finishReason: result.finishReason,
    durationMs: result.durationMs,
    costUsd: result.usage.costUsd,
  };
}

/** The result of a job whose analysis was cancelled before its run could go on. */
export async function finishCancelled(
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
  observe?: Observer<WorkerObservation>,
): Promise<RootJobResult | SubCallJobResult> {
  if (reporter) {
    if (await reporter.cancelled(undefined, "cancelled before it could resume")) {
      const analysisId = job.data.analysisId;
      notify(observe, { type: "analysis_ended", analysisId, status: "cancelled" });
    }
    return { analysisId: job.data.analysisId, finishReason: "cancelled" };
  }
  return cancelledResult();
}

function errorOf(result: RlmResult): RlmError {
  return new RlmError(
    result.error?.code ?? "analysis_failed",
    result.error?.message ?? "the analysis failed",
    { retryable: result.error?.retryable ?? false },
  );
}

/** A nested job's result when its analysis was cancelled or had ended. */
export function cancelledResult(): SubCallJobResult {
  return subCallJobResult(
    failedSubCall(
      { argumentsHash: "", query: "", contextChars: 0 },
      { code: "cancelled", message: "the analysis was cancelled" },
    ),
  );
}
