import { createHash } from "node:crypto";
import {
  AnalysisEvents,
  listJournalRecords,
  QueueName,
  type OwnedRedis,
  type RlmQueueClient,
  redisKeys,
} from "@rlm/queue";
import type { FlowProducer } from "bullmq";
import { readAnalysisJobs } from "./analysis-jobs.js";
import { readContextPreviews } from "./context-previews.js";
import { buildTrajectory } from "./trajectory.js";
import { rootAnchors } from "./trajectory-timing.js";
import type { Trajectory } from "./trajectory-types.js";

/** Where trajectories are read from. */
export interface TrajectorySource {
  client: Pick<RlmQueueClient, "getAnalysis">;
  redis: OwnedRedis["redis"];
  /** Key prefix shared with the workers. */
  prefix: string;
  /** Reads the analysis's job tree (workers, issue times, calls not answered yet). */
  flows?: Pick<FlowProducer, "getFlow">;
}

/** What `loadTrajectory` found. */
export type LoadedTrajectory =
  | { kind: "not_found" }
  | { kind: "not_modified"; etag: string }
  | { kind: "found"; etag: string; trajectory: Trajectory };

/**
 * Reads an analysis's record, journal, event stream and job tree and arranges them
 * (`buildTrajectory`).
 *
 * A viewer polls this every second while an analysis runs, and a journal can hold
 * thousands of records: so an ETag is computed first from the record's status,
 * progress and update time plus the journal's field count (records are write-once,
 * so the count changes with every write) and the event stream's length, and when it
 * matches `ifNoneMatch` nothing else is read.
 */
export async function loadTrajectory(
  source: TrajectorySource,
  id: string,
  ifNoneMatch?: string,
): Promise<LoadedTrajectory> {
  const keys = redisKeys(source.prefix);
  const [view, journalSize, eventCount] = await Promise.all([
    source.client.getAnalysis(id),
    source.redis.hlen(keys.journal(id)),
    source.redis.xlen(keys.events(id)),
  ]);
  if (!view) return { kind: "not_found" };
  const version = JSON.stringify([
    view.status,
    view.updatedAt,
    view.progress,
    view.cancelRequested,
    journalSize,
    eventCount,
  ]);
  const etag = `"${createHash("sha256").update(version).digest("base64url").slice(0, 27)}"`;
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) {
    return { kind: "not_modified", etag };
  }
  const events = new AnalysisEvents({ redis: source.redis, prefix: source.prefix });
  const [entries, history, jobs] = await Promise.all([
    listJournalRecords(source.redis, id, { prefix: source.prefix }),
    events.history(id),
    // The jobs add detail (workers, calls still queued); the journal alone still reads.
    source.flows
      ? readAnalysisJobs(source.flows, QueueName.root, id).catch(() => undefined)
      : undefined,
  ]);
  const previews = jobs
    ? await readContextPreviews(source.redis, source.prefix, jobs.calls.values())
    : undefined;
  const trajectory = buildTrajectory(view, entries, {
    ...(jobs ? { jobs } : {}),
    ...(previews ? { previews } : {}),
    anchors: rootAnchors(history),
  });
  return { kind: "found", etag, trajectory };
}

/** True when an `If-None-Match` header lists `etag` (weak comparison, as RFC 9110 asks). */
function etagMatches(header: string, etag: string): boolean {
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === etag || tag === "*");
}
