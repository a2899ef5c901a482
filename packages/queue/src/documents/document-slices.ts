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
 *
 * The store holds UTF-8, the code slices UTF-16: for ASCII text the offsets agree; for
 * other text the byte offset of the cursor is carried along (each step measures only the
 * text between two slices), and a chunk that cuts a surrogate pair is not sliced (its
 * UTF-8 would differ from the document's bytes there).
 */
export class DocumentSlices {
  private cursor = 0;
  /** UTF-8 byte offset of `cursor` (tracked only for non-ASCII text). */
  private cursorBytes = 0;
  private asciiText: boolean | undefined;

  constructor(
    private readonly text: string,
    /** Smallest chunk worth a reference (smaller ones are cheap to store). */
    private readonly minChars = 4_096,
    /** A scan is allowed when chunk length × this ≥ document length. */
    private readonly scanRatio = 256,
  ) {}

  /**
   * The chunk's byte range in the document (and its UTF-16 offset, `charStart`), or
   * undefined when it is not a slice of it.
   */
  locate(chunk: string): ByteRange | undefined {
    const text = this.text;
    if (chunk.length < this.minChars || chunk.length > text.length) return undefined;
    if (!this.ascii && cutsSurrogatePair(chunk, 0, chunk.length)) return undefined;
    let at = text.startsWith(chunk, this.cursor) ? this.cursor : -1;
    if (at < 0 && chunk.length * this.scanRatio >= text.length) {
      at = text.indexOf(chunk, this.cursor);
      if (at < 0) at = text.indexOf(chunk);
    }
    if (at < 0) return undefined;
    return this.bytesOf(at, at + chunk.length);
  }

  /**
   * The byte range of the document's text `[charStart, charEnd)` (a chunk the sandbox
   * found in the document and did not copy), or undefined when it cuts a surrogate pair.
   */
  rangeOf(charStart: number, charEnd: number): ByteRange | undefined {
    const text = this.text;
    if (charStart < 0 || charEnd > text.length || charEnd < charStart) return undefined;
    if (!this.ascii && cutsSurrogatePair(text, charStart, charEnd)) return undefined;
    return this.bytesOf(charStart, charEnd);
  }

  /** True when the document is ASCII (bytes = characters); measured once, when first asked. */
  private get ascii(): boolean {
    this.asciiText ??= Buffer.byteLength(this.text, "utf8") === this.text.length;
    return this.asciiText;
  }

  /** Bytes of `[at, end)`, measured from the cursor when the range lies ahead of it. */
  private bytesOf(at: number, end: number): ByteRange {
    const text = this.text;
    if (this.ascii) {
      this.cursor = end;
      return { start: at, end, charStart: at };
    }
    const start =
      at >= this.cursor
        ? this.cursorBytes + Buffer.byteLength(text.slice(this.cursor, at), "utf8")
        : Buffer.byteLength(text.slice(0, at), "utf8");
    const endBytes = start + Buffer.byteLength(text.slice(at, end), "utf8");
    this.cursor = end;
    this.cursorBytes = endBytes;
    return { start, end: endBytes, charStart: at };
  }
}

/** A chunk's UTF-8 byte range in the stored document, and its UTF-16 offset. */
export interface ByteRange {
  start: number;
  end: number;
  charStart: number;
}

/** True when `text[start, end)` starts with a low surrogate or ends with a high one. */
function cutsSurrogatePair(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  const first = text.charCodeAt(start);
  const last = text.charCodeAt(end - 1);
  return (first >= 0xdc00 && first <= 0xdfff) || (last >= 0xd800 && last <= 0xdbff);
}
