import { RlmError, type RlmResult } from "@rlm/core";
import { QueueErrorCode } from "../errors.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import type { ContextRef } from "../storage/context-ref.js";
import type {
  AnalysisError,
  AnalysisProgress,
  AnalysisRecord,
  AnalysisStatus,
} from "./analysis-types.js";

/** An analysis record as read from its hash (`HGETALL`). @throws RlmError `corrupt_record` */
export function parseAnalysisRecord(id: string, hash: Record<string, string>): AnalysisRecord {
  try {
    const record: AnalysisRecord = {
      id,
      status: hash.status as AnalysisStatus,
      query: hash.query ?? "",
      contextRef: JSON.parse(hash.contextRef ?? "null") as ContextRef,
      options: JSON.parse(hash.options ?? "{}") as SerializableEngineOptions,
      createdAt: Number(hash.createdAt),
      updatedAt: Number(hash.updatedAt),
      progress: JSON.parse(hash.progress ?? "null") as AnalysisProgress,
      cancelRequested: hash.cancelRequested === "1",
    };
    if (hash.result) record.result = JSON.parse(hash.result) as RlmResult;
    if (hash.error) record.error = JSON.parse(hash.error) as AnalysisError;
    if (hash.webhook) record.webhook = JSON.parse(hash.webhook) as { url: string };
    return record;
  } catch (error) {
    throw new RlmError(QueueErrorCode.corruptRecord, `analysis record ${id} is not readable`, {
      cause: error,
    });
  }
}
