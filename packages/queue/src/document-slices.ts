/**
 * Finds sub-call contexts that are slices of the analysis's document, so they travel to
 * LM jobs as byte ranges of the stored document (`ContextStore.slice`) instead of being
 * stored again: a map over a 100 MB document then adds no 100 MB of chunks to Redis, and
 * the root worker neither hashes nor uploads them.
 *
 * Map-style code sends its chunks in document order, so each search starts where the
 * previous slice ended. Scanning the document for a chunk that is not in it costs a pass
 * over the document, so a scan is tried only for chunks large relative to the document;
 * others are matched at the cursor only.
 */
export class DocumentSlices {
  private cursor = 0;
  private ascii: boolean | undefined;

  constructor(
    private readonly text: string,
    /** Smallest chunk worth a reference (smaller ones are cheap to store). */
    private readonly minChars = 4_096,
    /** A scan is allowed when chunk length × this ≥ document length. */
    private readonly scanRatio = 256,
  ) {}

  /** The chunk's byte range in the document, or undefined when it is not a slice of it. */
  locate(chunk: string): { start: number; end: number } | undefined {
    const text = this.text;
    if (chunk.length < this.minChars || chunk.length > text.length) return undefined;
    // Character offsets equal UTF-8 byte offsets only for ASCII text; checked once.
    this.ascii ??= Buffer.byteLength(text, "utf8") === text.length;
    if (!this.ascii) return undefined;
    let at = text.startsWith(chunk, this.cursor) ? this.cursor : -1;
    if (at < 0 && chunk.length * this.scanRatio >= text.length) {
      at = text.indexOf(chunk, this.cursor);
      if (at < 0) at = text.indexOf(chunk);
    }
    if (at < 0) return undefined;
    this.cursor = at + chunk.length;
    return { start: at, end: at + chunk.length };
  }
}
