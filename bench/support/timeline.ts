import { createHash } from "node:crypto";
import { subCallMessages } from "@rlm/core";
import type { MockRequestRecord } from "@rlm/mock-llm";
import { type ContextStore, createLlmQueue } from "@rlm/queue";
import { REDIS } from "./redis-keys.js";

/** One sub-call of a queue analysis: its LM job, and the mock's view of its model call. */
export interface ChildTimeline {
  /** When the call left the engine, before it joined a batch (`LlmCall.issuedAt`). */
  issuedAt: number;
  /** job.timestamp: when the root worker built the LM job (before its add round trip). */
  enqueuedAt: number;
  /** job.processedOn: when an LM worker took it. */
  processedOn: number;
  /** When the LM processor called the model client (from the worker's trace), if known. */
  clientCall?: number;
  /** The mock's startedAt / endedAt of the model call. */
  modelStart: number;
  modelEnd: number;
  /** job.finishedOn: when the job completed (results journaled, job moved to completed). */
  finishedOn: number;
  /** The call's LM job. */
  jobId: string;
  /** Calls in the call's LM job. */
  batchSize: number;
  /**
   * The job was added delayed for eager dispatch: its calls started in the root's process
   * before the add, and `processedOn` is when that process took the job as active.
   */
  eager: boolean;
}

/**
 * Joins an analysis's completed LM jobs to the mock's request records by the hash the
 * mock keeps of each request's messages (sha256 of `{ model, messages }`), so every
 * interval comes from real timestamps on the same machine clock.
 */
export async function childTimelines(
  prefix: string,
  analysisId: string,
  requests: MockRequestRecord[],
  contexts: ContextStore,
  clientCalls: Map<string, number> = new Map(),
): Promise<{ children: ChildTimeline[]; unmatched: number }> {
  const queue = createLlmQueue({ connection: { ...REDIS }, prefix });
  try {
    const jobs = (await queue.getJobs(["completed"], 0, -1)).filter(
      (job) => job.data.analysisId === analysisId,
    );
    const byHash = new Map<string, MockRequestRecord[]>();
    for (const request of requests) {
      if (request.kind !== "sub" || request.status !== 200) continue;
      const list = byHash.get(request.messagesHash) ?? [];
      list.push(request);
      byHash.set(request.messagesHash, list);
    }
    const children: ChildTimeline[] = [];
    let unmatched = 0;
    for (const job of jobs) {
      for (const call of job.data.calls) {
        const context = await contexts.get(call.contextRef);
        const text = typeof context === "string" ? context : JSON.stringify(context);
        // As the mock hashes them: what went over the wire (no `contentParts`).
        const messages = subCallMessages(call.query, text.length > 0 ? text : undefined).map(
          ({ role, content }) => ({ role, content }),
        );
        const hash = createHash("sha256")
          .update(JSON.stringify({ model: job.data.model, messages }))
          .digest("hex");
        // The last request with this hash: the one whose answer the job kept.
        const request = byHash.get(hash)?.at(-1);
        if (!request || request.endedAt === null || !job.processedOn || !job.finishedOn) {
          unmatched += 1;
          continue;
        }
        const clientCall = clientCalls.get(hash);
        children.push({
          issuedAt: call.issuedAt,
          enqueuedAt: job.timestamp,
          processedOn: job.processedOn,
          ...(clientCall === undefined ? {} : { clientCall }),
          modelStart: request.startedAt,
          modelEnd: request.endedAt,
          finishedOn: job.finishedOn,
          jobId: job.id ?? "",
          batchSize: job.data.calls.length,
          eager: (job.opts.delay ?? 0) > 0,
        });
      }
    }
    return { children, unmatched };
  } finally {
    await queue.close();
  }
}

/** Root model calls of one analysis, in order (the mock serves one analysis at a time here). */
export function rootCalls(requests: MockRequestRecord[]): MockRequestRecord[] {
  return requests
    .filter((request) => request.kind !== "sub")
    .sort((a, b) => a.startedAt - b.startedAt);
}

/**
 * Gap between the last child result of a fan-out and the next root model call: the
 * parent's resume (waiting-children → wait → a root worker → rebuild or live run →
 * journal reads → rest of the cell → journal write → next prompt).
 */
export function resumeGap(
  children: ChildTimeline[],
  requests: MockRequestRecord[],
): number | undefined {
  if (children.length === 0) return undefined;
  const lastFinished = Math.max(...children.map((child) => child.finishedOn));
  const next = rootCalls(requests).find((request) => request.startedAt >= lastFinished);
  return next ? next.startedAt - lastFinished : undefined;
}

/**
 * Last sub-call answered at the mock → the next root call at the mock: the way back from
 * a fan-out as the provider sees it, comparable between the queue and in process.
 */
export function returnGap(requests: MockRequestRecord[]): number | undefined {
  const subs = requests.filter((request) => request.kind === "sub");
  if (subs.length === 0) return undefined;
  const lastAnswer = Math.max(...subs.map((request) => request.endedAt ?? 0));
  const next = rootCalls(requests).find((request) => request.startedAt >= lastAnswer);
  return next ? next.startedAt - lastAnswer : undefined;
}
