import {
  type AnalysisStatus,
  isNestedJobData,
  type RlmQueueClient,
  type RootJobData,
  type RootQueue,
} from "@rlm/queue";

/** One line of the viewer's list of recent analyses. */
export interface RecentAnalysis {
  id: string;
  query: string;
  /** From the analysis record; `expired` when the record is gone but the job is kept. */
  status: AnalysisStatus | "expired";
  /** ISO 8601: when the root job was added. */
  createdAt: string;
}

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
 * The newest root analyses, newest first. There is no index of analyses, so this
 * reads the root queue's own job lists (at most `limit` per state, nested sub-analysis
 * jobs dropped), then each listed analysis's record for its status. Analyses whose
 * jobs BullMQ no longer keeps (removed by retention, or cancelled while queued) are
 * not listed.
 */
export async function listRecentAnalyses(
  queue: RootQueue,
  client: Pick<RlmQueueClient, "getAnalysis">,
  limit: number,
): Promise<RecentAnalysis[]> {
  const jobs = await queue.getJobs([...LISTED_STATES], 0, limit - 1);
  const roots = new Map<string, { data: RootJobData; timestamp: number }>();
  for (const job of jobs) {
    // getJobs may return a job twice while it moves between lists.
    if (!job || isNestedJobData(job.data) || job.id === undefined) continue;
    roots.set(job.id, { data: job.data as RootJobData, timestamp: job.timestamp });
  }
  const newest = [...roots.values()].sort((a, b) => b.timestamp - a.timestamp).slice(0, limit);
  return Promise.all(
    newest.map(async ({ data, timestamp }) => {
      const view = await client.getAnalysis(data.analysisId);
      return {
        id: data.analysisId,
        query: data.query,
        status: view?.status ?? "expired",
        createdAt: new Date(timestamp).toISOString(),
      };
    }),
  );
}
