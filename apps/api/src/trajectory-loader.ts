import { createHash } from "node:crypto";
import { listJournalRecords, type OwnedRedis, type RlmQueueClient, redisKeys } from "@rlm/queue";
import { buildTrajectory } from "./trajectory.js";
import type { Trajectory } from "./trajectory-types.js";

/** Where trajectories are read from. */
export interface TrajectorySource {
  client: Pick<RlmQueueClient, "getAnalysis">;
  redis: OwnedRedis["redis"];
  /** Key prefix shared with the workers. */
  prefix: string;
}

/** What `loadTrajectory` found. */
export type LoadedTrajectory =
  | { kind: "not_found" }
  | { kind: "not_modified"; etag: string }
  | { kind: "found"; etag: string; trajectory: Trajectory };

/**
 * Reads an analysis's record and journal and arranges them (`buildTrajectory`).
 *
 * A viewer polls this every second while an analysis runs, and a journal can hold
 * thousands of records: so an ETag is computed first from the record's status,
 * progress and update time plus the journal's field count (records are write-once,
 * so the count changes with every write), and when it matches `ifNoneMatch` the
 * journal is not read at all.
 */
export async function loadTrajectory(
  source: TrajectorySource,
  id: string,
  ifNoneMatch?: string,
): Promise<LoadedTrajectory> {
  const [view, journalSize] = await Promise.all([
    source.client.getAnalysis(id),
    source.redis.hlen(redisKeys(source.prefix).journal(id)),
  ]);
  if (!view) return { kind: "not_found" };
  const version = JSON.stringify([
    view.status,
    view.updatedAt,
    view.progress,
    view.cancelRequested,
    journalSize,
  ]);
  const etag = `"${createHash("sha256").update(version).digest("base64url").slice(0, 27)}"`;
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) {
    return { kind: "not_modified", etag };
  }
  const entries = await listJournalRecords(source.redis, id, { prefix: source.prefix });
  return { kind: "found", etag, trajectory: buildTrajectory(view, entries) };
}

/** True when an `If-None-Match` header lists `etag` (weak comparison, as RFC 9110 asks). */
function etagMatches(header: string, etag: string): boolean {
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === etag || tag === "*");
}
