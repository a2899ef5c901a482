import { redisKeys } from "@rlm/queue";
import type { RedisClient } from "@rlm/queue";
import type { JobCall } from "./analysis-jobs.js";

/** Bytes read for a preview: enough for a heading or a first sentence. */
const PREVIEW_BYTES = 160;
/** Characters kept of a preview. */
export const PREVIEW_CHARS = 90;
/** Previews kept in memory, across analyses (contents are addressed by hash: never stale). */
const CACHE_ENTRIES = 20_000;

const cache = new Map<string, string>();

/**
 * The first words of each call's context, by call key: what tells apart 110 calls that
 * all ask "Summarize this section". Read from the context store with one GETRANGE per
 * distinct piece (a chunk travels as a byte range of the stored document, so this reads
 * the chunk's first bytes, never the document), and cached by content address.
 */
export async function readContextPreviews(
  redis: RedisClient,
  prefix: string,
  calls: Iterable<JobCall>,
): Promise<Map<string, string>> {
  const keys = redisKeys(prefix);
  const previews = new Map<string, string>();
  const reads: Array<Promise<void>> = [];
  for (const call of calls) {
    const ref = call.contextRef;
    if (!ref) continue;
    const start = ref.slice?.start ?? 0;
    const end = Math.min(ref.slice?.end ?? ref.bytes, start + PREVIEW_BYTES);
    const cacheKey = `${ref.sha256}:${start}:${end}`;
    const cached = cache.get(cacheKey);
    if (cached !== undefined) {
      previews.set(call.key, cached);
      continue;
    }
    if (end <= start) continue;
    reads.push(
      redis.getrangeBuffer(keys.context(ref.sha256), start, end - 1).then((bytes) => {
        const preview = toPreview(bytes);
        remember(cacheKey, preview);
        previews.set(call.key, preview);
      }),
    );
  }
  // A preview is a nicety: a context gone from Redis (expired) leaves the call without one.
  await Promise.allSettled(reads);
  return previews;
}

function toPreview(bytes: Buffer): string {
  // A byte range may end inside a character: the decoder's replacement mark is dropped.
  const text = new TextDecoder().decode(bytes).replace(/\uFFFD+$/, "");
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS)}…` : line;
}

function remember(key: string, preview: string): void {
  if (cache.size >= CACHE_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, preview);
}
