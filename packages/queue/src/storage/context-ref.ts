/**
 * A stored context, as jobs carry it instead of the document.
 *
 * `sha256` is the hex SHA-256 of `kind`, a newline, then the stored bytes. The kind is
 * hashed in so that the string `"[1]"` and the JSON array `[1]` (same bytes) get
 * different keys and each comes back as what was put.
 */
export interface ContextRef {
  sha256: string;
  /** `string`: raw UTF-8 text. `json`: an array or object, stored as JSON text. */
  kind: "string" | "json";
  /** Length in UTF-16 code units of the string, or of the JSON text. */
  chars: number;
  /** Bytes held in Redis (for a slice: the bytes of the slice). */
  bytes: number;
  /**
   * A byte range of the stored string `sha256` instead of a value of its own: how a
   * sub-call's chunk of the document travels without storing the document twice.
   * `charStart`, when known, is where the chunk starts in the document's UTF-16 text:
   * a process holding that text takes the chunk from it without reading Redis.
   */
  slice?: { start: number; end: number; charStart?: number };
}
