import type { ContextDescription } from "@rlm/core";
import type { Job } from "bullmq";
import type { LoadedDocument } from "../documents/document-cache.js";
import { isNestedJobData, type RootQueueJobData } from "../jobs/job-types.js";
import type { ContextRef } from "../storage/context-ref.js";
import { engineOptions, type RootProcessorServices } from "./root-services.js";

/** What a run is built from, read from Redis (see {@link readRunSources}). */
export interface RunSources {
  /** The document when this process has it loaded, else its description. */
  source: { description: ContextDescription } | { loaded: LoadedDocument };
  /**
   * When the analysis began (ms since the epoch): a top analysis's enqueue time, a nested
   * one's job creation. Its deadline budget, REPL clock and `durationMs` start there.
   */
  startedAt: number;
}

/**
 * Reads what a run is built from. A string document not loaded in this process is read
 * while the first root call is in flight: that call needs only its description, read from
 * its two ends (see `DeferredContext`). Together with it: another TTL for the context of
 * an analysis that began a day ago or more, and (for jobs enqueued before their data
 * carried it) the record whose `createdAt` starts the analysis. Rejects with the document handed back
 * when a read fails.
 */
export async function readRunSources(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
): Promise<RunSources> {
  const data = job.data;
  const documentKey = contextIdentity(data.contextRef);
  const deferred = data.contextRef.kind === "string" && !services.documents.has(documentKey);
  const first: Promise<RunSources["source"]> = deferred
    ? services.contexts
        .describeString(data.contextRef, engineOptions(services, data).previewChars)
        .then((description) => ({ description }))
    : services.documents
        .acquire(documentKey, () => services.contexts.readDocument(data.contextRef))
        .then((loaded) => ({ loaded }));
  const startedAt: Promise<number> = isNestedJobData(data)
    ? Promise.resolve(job.timestamp)
    : data.createdAt !== undefined
      ? Promise.resolve(data.createdAt)
      : services.store.get(data.analysisId).then((record) => record?.createdAt ?? job.timestamp);
  const [source, began] = await Promise.all([
    first,
    startedAt,
    touchIfOld(services, data, job),
  ]).catch(async (error: unknown) => {
    // A document acquired for a run that will not be built goes back at once.
    await releaseSources(
      services,
      job,
      first.then((got) => ({ source: got, startedAt: 0 })),
    );
    throw error;
  });
  return { source, startedAt: began };
}

/**
 * Gives the context another TTL while the analysis runs, when it began long enough ago
 * for its TTL (7 days by default, set when it was stored) to matter; a new analysis's
 * context was stored or touched by its producer a moment ago.
 */
async function touchIfOld(
  services: RootProcessorServices,
  data: RootQueueJobData,
  job: Job<RootQueueJobData>,
): Promise<void> {
  const began = isNestedJobData(data) ? job.timestamp : (data.createdAt ?? 0);
  if (Date.now() - began < TOUCH_AFTER_MS) return;
  await services.contexts.touch(data.contextRef);
}

/** Age of an analysis from which its runs give its context another TTL. */
const TOUCH_AFTER_MS = 24 * 60 * 60_000;

/** Hands back the document that sources read for a run that will not be built. */
export async function releaseSources(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  sources: Promise<RunSources>,
): Promise<void> {
  const got = await sources.catch(() => undefined);
  if (got && "loaded" in got.source) {
    services.documents.release(contextIdentity(job.data.contextRef));
  }
}

/** What identifies a context's content: its hash, and the byte range for a slice. */
export function contextIdentity(ref: ContextRef): string {
  return ref.slice ? `${ref.sha256}:${ref.slice.start}-${ref.slice.end}` : ref.sha256;
}
