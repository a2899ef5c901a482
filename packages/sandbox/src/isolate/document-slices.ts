import { stringIndexOf, stringStartsWith } from "./intrinsics.js";

/**
 * Sub-contexts that are slices of the document.
 *
 * A chunk the code cut from the document is sent to the host as its offsets, not copied:
 * a map over a 100 MB document would otherwise copy 100 MB of chunks out of the isolate.
 * Map-style code cuts its chunks in order, so each search starts where the last slice
 * ended (or just after the line break a line-joined chunk leaves out); a scan of the whole document is tried only for chunks large relative to it, and
 * at most a few passes over the document per cell (then the chunk is copied).
 */

const SLICE_MIN_CHARS = 4096;
const SLICE_SCAN_RATIO = 256;
const SLICE_SCAN_PASSES = 8;

let documentText: string | null = null;
let sliceCursor = 0;
let sliceScansLeft = 0;

/** The document's text when it is a string (only then can a chunk be a slice of it). */
export function setDocumentText(text: string | null): void {
  documentText = text;
}

/** A new cell may scan the document a few times again. */
export function resetSliceScans(): void {
  sliceScansLeft = SLICE_SCAN_PASSES;
}

/** Where `text` starts in the document, or -1 when it is not found (cheaply) there. */
export function locateInDocument(text: string): number {
  if (documentText === null || text.length < SLICE_MIN_CHARS || text.length > documentText.length) {
    return -1;
  }
  let at = -1;
  // Where the last slice ended, or one or two characters on: chunks joined from lines
  // (`lines.slice(a, b).join("\n")`) leave out the newline (or CRLF) between them.
  for (let skip = 0; skip <= 2 && at < 0; skip++) {
    if (stringStartsWith(documentText, text, sliceCursor + skip)) at = sliceCursor + skip;
  }
  if (at < 0 && text.length * SLICE_SCAN_RATIO >= documentText.length && sliceScansLeft > 0) {
    sliceScansLeft -= 1;
    at = stringIndexOf(documentText, text, sliceCursor);
    if (at < 0 && sliceCursor > 0 && sliceScansLeft > 0) {
      sliceScansLeft -= 1;
      at = stringIndexOf(documentText, text);
    }
  }
  if (at >= 0) sliceCursor = at + text.length;
  return at;
}
