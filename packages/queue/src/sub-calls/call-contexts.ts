import type { SubCallTask } from "@rlm/core";
import type { DocumentSlices } from "../documents/document-slices.js";
import type { ContextRef, ContextStore } from "../storage/context-store.js";

/** A run's string document: where it is stored, and how to find chunks of it. */
export interface RunDocument {
  ref: ContextRef;
  slices: DocumentSlices;
}

/**
 * What a child job carries for a call's sub-context: a byte range of the run's document
 * when the sub-context is a slice of it (a map over a 100 MB document stores no chunk
 * again), else the value, stored once by content.
 */
export async function contextRefFor(
  contexts: ContextStore,
  document: RunDocument | undefined,
  task: SubCallTask,
): Promise<ContextRef> {
  const { context, documentRange } = task;
  if (document && typeof context === "string") {
    // The sandbox says where the chunk lies when it found it there; else search for it.
    const range = documentRange
      ? document.slices.rangeOf(documentRange.start, documentRange.end)
      : document.slices.locate(context);
    if (range) {
      return contexts.slice(document.ref, range.start, range.end, context.length, range.charStart);
    }
  }
  return contexts.put(context ?? "");
}
