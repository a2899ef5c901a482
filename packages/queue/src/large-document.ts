/**
 * Documents from this size on are loaded with full garbage collections in between, when
 * the worker offers one (`RlmWorkerOptions.collectGarbage`): during their read (see
 * {@link readCollectionSpacing}), before they are decoded, and after the sandbox copy.
 */
export const LARGE_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** Never collect more often than once per this many bytes read. */
const MIN_SPACING_BYTES = 2 * 1024 * 1024;

/** At most about this many collections during one read. */
const MAX_COLLECTIONS_PER_READ = 8;

/**
 * Bytes read between two collections while a large document of `totalBytes` is read:
 * 2 MB, or an eighth of the document when that is more.
 *
 * Why: every GETRANGE reply arrives as socket chunks that are garbage once the piece is
 * copied, and a worker that mostly waits on I/O makes too little garbage of its own for
 * V8 to collect them during the read. So the whole document's worth piled up next to the
 * buffer it was read into, and the peak RSS was that of two documents before the
 * decoding added a third (10 MB measured with bench/diagnostics/large-context-memory.ts:
 * growth over idle 2.67–2.95× the document; collecting every 2 MB: 2.19–2.23×). A
 * collection costs a few ms of main thread on a worker's heap; the cap keeps a 100 MB
 * read to about eight of them, with an eighth of the document as garbage at most.
 */
export function readCollectionSpacing(totalBytes: number): number {
  return Math.max(MIN_SPACING_BYTES, Math.ceil(totalBytes / MAX_COLLECTIONS_PER_READ));
}
