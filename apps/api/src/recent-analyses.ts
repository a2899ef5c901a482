import type { FinishReason } from "@rlm/core";
import { type AnalysisStatus, type RlmQueueClient, type RootQueue } from "@rlm/queue";

/** One line of the viewer's list of recent analyses. */
export interface RecentAnalysis {
  id: string;
  query: string;
  /** From the analysis record; `expired` when the record is gone but the job is kept. */
  status: AnalysisStatus | "expired";
  /** ISO 8601: when the root job was added. */
  createdAt: string;
  /** Why it ended, once it has. */
  finishReason?: FinishReason;
  /** How long it ran (finished), or has been running (ms). */
  durationMs?: number;
  /** US dollars so far; null when a model's price is unknown. */
  costUsd?: number | null;
  /** Sub-calls of the top analysis issued so far. */
  subCalls?: number;
}

/** Statuses the list can be narrowed to; `active` is queued, running or waiting. */
export const LIST_FILTERS = ["active", "completed", "failed", "cancelled"] as const;
export type ListFilter = (typeof LIST_FILTERS)[number];

/** Job states on `rlm-root` worth listing (everything BullMQ keeps). */
const LISTED_STATES = [
  "active",
  "waiting",
  "waiting-children",
  "prioritized",
  "delayed",
  "completed",
  "failed",
] as const;

/**
 * The newest root analyses, newest first, optionally of one status. There is no index
 * of analyses, so this reads the root queue's own job lists (at most `limit` per
 * state, nested sub-analysis jobs dropped), then each listed analysis's record for its
 * status and figures. Analyses whose jobs BullMQ no longer keeps (removed by
 * retention, or cancelled while queued) are not listed.
 */
export async function listRecentAnalyses(
  queue: RootQueue,
  client: Pick<RlmQueueClient, "getAnalysis">,
  limit: number,
  filter?: ListFilter,
  nowMs = Date.now(),
): Promise<RecentAnalysis[]> {
  // Narrowed by status after reading the records: read more, so a filter still fills the page.
  const read = filter === undefined ? limit : limit * 4;
  const jobs = await queue.getJobs([...LISTED_STATES], 0, read - 1);
  const roots = new Map<string, { analysisId: string; query: string; timestamp: number }>();
  for (const job of jobs) {
    // getJobs may return a job twice while it moves between lists. A root analysis is
    // told by its data (depth 0, no journal scope), whatever its job is named.
    const data = job?.data as unknown as Record<string, unknown> | undefined;
    if (!job?.id || !data || data.depth !== 0 || "journalScope" in data) continue;
    roots.set(job.id, {
      analysisId: String(data.analysisId),
      query: String(data.query ?? ""),
      timestamp: job.timestamp,
    });
  }
  const newest = [...roots.values()].sort((a, b) => b.timestamp - a.timestamp).slice(0, read);
  const listed = await Promise.all(
    newest.map(async ({ analysisId, query, timestamp }): Promise<RecentAnalysis> => {
      const view = await client.getAnalysis(analysisId);
      const base = { id: analysisId, query, createdAt: new Date(timestamp).toISOString() };
      if (!view) return { ...base, status: "expired" };
      const result = view.result;
      return {
        ...base,
        status: view.status,
        ...(result ? { finishReason: result.finishReason } : {}),
        durationMs: result?.durationMs ?? Math.max(0, Date.parse(view.updatedAt) - timestamp),
        costUsd: result?.usage.costUsd ?? view.progress.costUsd,
        subCalls: view.progress.subCallsTotal,
        ...(isActive(view.status) ? { durationMs: Math.max(0, nowMs - timestamp) } : {}),
      };
    }),
  );
  return listed.filter((analysis) => matches(analysis.status, filter)).slice(0, limit);
}

function isActive(status: AnalysisStatus | "expired"): boolean {
  return status === "queued" || status === "running" || status === "waiting";
}

function matches(status: AnalysisStatus | "expired", filter: ListFilter | undefined): boolean {
  if (filter === undefined) return true;
  return filter === "active" ? isActive(status) : status === filter;
}
