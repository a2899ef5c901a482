import type { FinishReason } from "@rlm/core";
import type { AnalysisStatus, RlmQueueClient } from "@rlm/queue";

/** One line of the viewer's list of recent analyses. */
export interface RecentAnalysis {
  id: string;
  query: string;
  status: AnalysisStatus;
  /** ISO 8601: when the analysis was enqueued. */
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

/** The statuses each filter stands for. */
const FILTER_STATUSES: Record<ListFilter, AnalysisStatus[]> = {
  active: ["queued", "running", "waiting"],
  completed: ["completed"],
  failed: ["failed"],
  cancelled: ["cancelled"],
};

/**
 * The newest top analyses, newest first, optionally of one status: a page of the
 * analyses' index (`listAnalyses`, the list `GET /v1/analyses` serves), then each
 * listed analysis's view for its figures (the result's duration, cost and calls).
 */
export async function listRecentAnalyses(
  client: Pick<RlmQueueClient, "listAnalyses" | "getAnalysis">,
  limit: number,
  filter?: ListFilter,
  nowMs = Date.now(),
): Promise<RecentAnalysis[]> {
  const page = await client.listAnalyses({
    limit,
    ...(filter === undefined ? {} : { statuses: FILTER_STATUSES[filter] }),
  });
  const listed = await Promise.all(
    page.analyses.map(async ({ id }): Promise<RecentAnalysis | undefined> => {
      const view = await client.getAnalysis(id);
      // Expired between the two reads: not listed.
      if (!view) return undefined;
      const createdMs = Date.parse(view.createdAt);
      const result = view.result;
      return {
        id,
        query: view.query,
        status: view.status,
        createdAt: view.createdAt,
        ...(result ? { finishReason: result.finishReason } : {}),
        durationMs: isActive(view.status)
          ? Math.max(0, nowMs - createdMs)
          : (result?.durationMs ?? Math.max(0, Date.parse(view.updatedAt) - createdMs)),
        costUsd: result?.usage.costUsd ?? view.progress.costUsd,
        subCalls: view.progress.subCallsTotal,
      };
    }),
  );
  return listed.filter((analysis) => analysis !== undefined);
}

function isActive(status: AnalysisStatus): boolean {
  return status === "queued" || status === "running" || status === "waiting";
}
