import { CancelledError, RlmError, type RlmResult } from "@rlm/core";
import type { AnalysisEvents } from "../analyses/analysis-events.js";
import { isTerminalEvent } from "../analyses/analysis-events.js";
import type { AnalysisStore } from "../analyses/analysis-store.js";
import { type AnalysisRecord, isTerminalStatus } from "../analyses/analysis-types.js";
import { AnalysisFailedError, QueueErrorCode } from "../errors.js";

/**
 * Resolves with the analysis's result once it completes (`RlmQueueClient.waitForResult`).
 * Rejects with `RlmError` `timeout` (retryable: the analysis may still finish),
 * `AnalysisFailedError` (`analysis_failed`), `CancelledError` (`cancelled`) or `not_found`.
 */
export async function waitForResult(
  analyses: AnalysisStore,
  analysisEvents: AnalysisEvents,
  id: string,
  timeoutMs: number,
): Promise<RlmResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let record = await requireRecord(analyses, id);
    if (!isTerminalStatus(record.status)) {
      // From the start: a terminal event published since the read above is not missed.
      const events = analysisEvents.subscribe(id, { fromStart: true, signal: controller.signal });
      let ended = false;
      for await (const entry of events) {
        if (isTerminalEvent(entry.event)) {
          ended = true;
          break;
        }
      }
      if (!ended) {
        throw new RlmError(
          QueueErrorCode.timeout,
          `analysis ${id} did not finish within ${timeoutMs} ms`,
          { retryable: true },
        );
      }
      record = await requireRecord(analyses, id);
    }
    return settledResult(record);
  } finally {
    clearTimeout(timer);
  }
}

/** The analysis's record; `not_found` when there is none. */
export async function requireRecord(analyses: AnalysisStore, id: string): Promise<AnalysisRecord> {
  const record = await analyses.get(id);
  if (!record) throw new RlmError(QueueErrorCode.notFound, `no analysis ${id}`);
  return record;
}

/** An ended analysis's result, or the error it ended with. */
function settledResult(record: AnalysisRecord): RlmResult {
  if (record.status === "completed" && record.result) return record.result;
  if (record.status === "cancelled")
    throw new CancelledError(`analysis ${record.id} was cancelled`);
  if (record.status === "failed") {
    throw new AnalysisFailedError(
      record.id,
      record.error ?? { code: "internal_error", message: "no error recorded", retryable: false },
      record.result,
    );
  }
  throw new RlmError(QueueErrorCode.corruptRecord, `analysis ${record.id} ended without a result`);
}
