/**
 * Documents from this size on are loaded with garbage collections in between, when the
 * worker offers them (`RlmWorkerOptions.collectGarbage`): young-generation ones during
 * their read (every {@link READ_COLLECTION_SPACING_BYTES}), full ones before they are
 * decoded and after the sandbox copy.
 */
export const LARGE_DOCUMENT_BYTES = 8 * 1024 * 1024;

/**
 * Bytes of a large document read between two young-generation collections.
 *
 * Why: every GETRANGE reply arrives as socket chunks that are garbage once its piece is
 * copied, and a worker that mostly waits on I/O makes too little garbage of its own for
 * V8 to collect them during the read. So the whole document's worth piled up next to the
 * buffer it was read into, and the peak RSS was that of two documents before the
 * decoding added a third. Measured on a 10 MB document, alternately
 * (`WARM=1 node --no-node-snapshot --import tsx bench/diagnostics/large-context-memory.ts
 * 10`: growth over idle / the document, and root answer → next root call, which the load
 * delays when it outlasts the first model call):
 * - no collection during the read: 2.70–3.02, 7–18 ms;
 * - a young-generation collection every 2 MB: 2.51–2.71, 7–37 ms;
 * - a full collection every 2 MB: 2.23–2.32, but 72–88 ms (~15 ms each here).
 * The chunks are young while their piece is read, so a scavenge (~1 ms) frees most of
 * them; the few that a scavenge promoted wait for the full collection before decoding.
 */
export const READ_COLLECTION_SPACING_BYTES = 2 * 1024 * 1024;

/**
 * A garbage collection the worker's host offers (Node's `gc` under `--expose-gc`):
 * `"minor"` the young generation only (a scavenge, about a millisecond), `"major"` the
 * whole heap.
 */
export type CollectGarbage = (kind: "minor" | "major") => void;

/**
 * Node's own collector as a {@link CollectGarbage}, or undefined when the process was not
 * started with `--expose-gc` (what `rlm worker` passes to `startRlmWorker`). A full
 * collection is `gc()`: on Node 20 `gc({ type: "major" })` freed 1 MB where `gc()` freed
 * 25 MB of the same garbage.
 */
export function exposedGarbageCollector(): CollectGarbage | undefined {
  const gc = globalThis.gc;
  if (typeof gc !== "function") return undefined;
  return (kind) => (kind === "minor" ? gc({ type: "minor" }) : gc());
}
