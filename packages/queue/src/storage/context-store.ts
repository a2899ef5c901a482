import { createHash } from "node:crypto";
import {
  type ContextDescription,
  describeContext,
  type JsonValue,
  type RlmContext,
  RlmError,
} from "@rlm/core";
import type { RedisClient } from "./redis-client.js";
import { QueueErrorCode } from "../errors.js";
import type { CollectGarbage } from "../documents/large-document.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, type RedisKeys, redisKeys } from "./keys.js";
import type { ContextRef } from "./context-ref.js";
import { luaScripts } from "./lua-scripts.js";
import { READ_PIECE_BYTES, readInPieces } from "./read-in-pieces.js";

export type { ContextRef } from "./context-ref.js";
import { ResidentTexts } from "../documents/resident-texts.js";

/** Options of a `ContextStore`. */
export interface ContextStoreOptions {
  redis: RedisClient;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /** Lifetime of a stored context, refreshed by every put of the same content. Default 7 days. */
  ttlSeconds?: number;
  /**
   * Frees a piece of a large value read from Redis once it has been copied (a worker
   * passes the sandbox's `releaseBufferNow`). Without it, pieces wait for the garbage
   * collector.
   */
  releaseBuffer?: (buffer: Buffer) => void;
  /**
   * Called with `"minor"` during the read of a document of `LARGE_DOCUMENT_BYTES` or more
   * each time `READ_COLLECTION_SPACING_BYTES` have been read, so the read's socket chunks
   * do not pile up (a worker passes `RlmWorkerOptions.collectGarbage`).
   */
  collectGarbage?: CollectGarbage;
}

/**
 * What a run's document is read as: the stored UTF-8 bytes of a string or of a JSON
 * value (parsed by the reader: see `DocumentCache`), or a value held in this process.
 */
export type DocumentSource = { utf8: Buffer } | { json: Buffer } | { context: RlmContext };

/** The value of a stored JSON context: an object or array, else its text. */
export function parseJsonContext(text: string): RlmContext {
  const parsed = JSON.parse(text) as JsonValue;
  return typeof parsed === "object" && parsed !== null ? parsed : text;
}

/**
 * Content-addressed storage of analysis contexts: a document is stored once, whatever
 * the number of analyses (or retries) that use it, and jobs carry its `ContextRef`.
 *
 * Strings are stored as raw UTF-8, not JSON-encoded, so Redis holds about the size of
 * the document (JSON escaping would inflate quotes, backslashes and newlines).
 */
export class ContextStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly ttlSeconds: number;
  private readonly resident = new ResidentTexts();
  private readonly releaseBuffer: ((buffer: Buffer) => void) | undefined;
  private readonly collectGarbage: CollectGarbage | undefined;

  constructor(options: ContextStoreOptions) {
    this.redis = options.redis;
    this.releaseBuffer = options.releaseBuffer;
    this.collectGarbage = options.collectGarbage;
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /**
   * Stores the context unless the same content is stored already (then only its TTL is
   * refreshed). Accepts any JSON value because a `recursiveLm` sub-context may be one;
   * see `get` for how a bare number, boolean or null comes back.
   */
  async put(context: RlmContext | JsonValue): Promise<ContextRef> {
    const kind = typeof context === "string" ? "string" : "json";
    // One JSON.stringify for objects; a string is used as is, without any copy here.
    const text = typeof context === "string" ? context : JSON.stringify(context);
    if (typeof text !== "string") {
      throw new RlmError(QueueErrorCode.invalidInput, "the context is not JSON-serialisable");
    }
    // The text is hashed and measured as UTF-8 without a Buffer of it, which is made only
    // when the content must be sent. Why: a new Buffer of the size of the document costs a
    // page fault per 4 KiB on first write (measured here: 1 MB encoded to a new Buffer and
    // hashed 4.9 ms, hashed as a string 0.7 ms), and a document already stored (another
    // analysis of it, a retry) needs none.
    const sha256 = createHash("sha256").update(`${kind}\n`).update(text, "utf8").digest("hex");
    const byteLength = Buffer.byteLength(text, "utf8");
    const ref: ContextRef = { sha256, kind, chars: text.length, bytes: byteLength };
    // Already stored (by another analysis or a retry): refresh its TTL, send nothing.
    if (await this.touch(ref)) return ref;
    // NX: a racing writer of the same content may have won; its bytes equal ours.
    const key = this.keys.context(sha256);
    const bytes = Buffer.from(text, "utf8");
    const set = await this.redis.set(key, bytes, "EX", this.ttlSeconds, "NX");
    if (set === null) await this.touch(ref);
    return ref;
  }

  /**
   * Reads a context back. Throws `RlmError` `context_missing` (not retryable) if it
   * expired. A bare number, boolean or null (only possible as a sub-context) comes back
   * as its JSON text, so the result is always a valid `RlmContext`.
   *
   * A string held in this process (`hold`), or a slice of one, is served from memory.
   */
  async get(ref: ContextRef): Promise<RlmContext> {
    const held = this.fromResident(ref);
    if (held !== undefined) return held;
    const text = (await this.readStored(ref)).toString("utf8");
    if (ref.kind === "string") return text;
    return parseJsonContext(text);
  }

  /**
   * Reads a run's document: a string context as its UTF-8 bytes (read in pieces when
   * large, so the read holds the document about once), unless this process holds its
   * text already; a JSON context as its stored bytes, which the caller parses (a large
   * parse blocks the thread: see `DocumentCache`).
   *
   * @throws RlmError `context_missing` when it expired.
   */
  async readDocument(ref: ContextRef): Promise<DocumentSource> {
    if (ref.kind !== "string") return { json: await this.readStored(ref) };
    const held = this.fromResident(ref);
    if (held !== undefined) return { context: held };
    const { start, end } = storedSpan(ref);
    if (end - start <= READ_PIECE_BYTES) return { utf8: await this.readStored(ref) };
    const bytes = await readInPieces(this.redis, this.keys.context(ref.sha256), start, end, {
      ...(this.releaseBuffer ? { releaseBuffer: this.releaseBuffer } : {}),
      ...(this.collectGarbage ? { collectGarbage: this.collectGarbage } : {}),
    });
    if (!bytes) throw missing(ref);
    return { utf8: bytes };
  }

  /**
   * What `describeContext` gives for the stored string `ref` (its length, and its first
   * and last `previewChars` characters), read from its two ends instead of whole: the
   * first root prompt of a run needs only this, so a worker can send it before the
   * document is read (see `DeferredContext`).
   *
   * @throws RlmError `context_missing` when it expired.
   */
  async describeString(ref: ContextRef, previewChars: number): Promise<ContextDescription> {
    const held = this.fromResident(ref);
    if (held !== undefined) return describeContext(held, previewChars);
    const { start, end } = storedSpan(ref);
    // A UTF-16 code unit is 1 to 3 bytes of UTF-8 (a surrogate pair: 4 bytes for 2), and
    // a window may cut one character at its edge: this many bytes hold `previewChars`
    // whole code units.
    const window = 3 * previewChars + 3;
    if (ref.kind !== "string" || ref.chars <= 2 * previewChars || end - start <= 2 * window) {
      return describeContext(await this.get(ref), previewChars);
    }
    const key = this.keys.context(ref.sha256);
    const [head, tail, length] = await Promise.all([
      this.redis.getrangeBuffer(key, start, start + window - 1),
      this.redis.getrangeBuffer(key, end - window, end - 1),
      this.redis.strlen(key),
    ]);
    if (length < end) throw missing(ref);
    // The tail window may begin inside a character: skip its continuation bytes.
    let first = 0;
    while (first < 3 && ((tail[first] ?? 0) & 0xc0) === 0x80) first += 1;
    return {
      type: "string",
      totalChars: ref.chars,
      head: head.toString("utf8").slice(0, previewChars),
      tail: previewChars > 0 ? tail.subarray(first).toString("utf8").slice(-previewChars) : "",
    };
  }

  /** The stored bytes of `ref` (a whole value or a slice) in one read. */
  private async readStored(ref: ContextRef): Promise<Buffer> {
    const key = this.keys.context(ref.sha256);
    const value = ref.slice ? await this.getSlice(key, ref.slice) : await this.redis.getBuffer(key);
    if (value === null) throw missing(ref);
    return value;
  }

  /**
   * Declares that this process holds `text`, the content of the stored string `ref`
   * (a run's document), until the returned function is called: `get` of the document,
   * or of a slice of it with a known `charStart`, then shares that text instead of
   * reading Redis. Only whole stored strings can be held.
   */
  hold(ref: ContextRef, text: string): () => void {
    if (ref.kind !== "string" || ref.slice || text.length !== ref.chars) return () => undefined;
    return this.resident.hold(ref.sha256, text);
  }

  private fromResident(ref: ContextRef): string | undefined {
    if (ref.kind !== "string") return undefined;
    const text = this.resident.get(ref.sha256);
    if (text === undefined) return undefined;
    if (!ref.slice) return text;
    const start = ref.slice.charStart;
    if (start === undefined || start + ref.chars > text.length) return undefined;
    // A V8 substring of a large string shares its memory (no copy of the chunk).
    return text.slice(start, start + ref.chars);
  }

  /**
   * A reference to bytes `[start, end)` of a stored string context (offsets relative to
   * `parent`, which may itself be a slice). `charStart` is the chunk's offset in
   * `parent`'s text, when known. Nothing is written.
   */
  slice(
    parent: ContextRef,
    start: number,
    end: number,
    chars: number,
    charStart?: number,
  ): ContextRef {
    if (parent.kind !== "string")
      throw new RlmError(QueueErrorCode.invalidInput, "only a string context can be sliced");
    const base = parent.slice?.start ?? 0;
    // The text offset is known only when the parent's own offset is (or there is none).
    const charBase = parent.slice ? parent.slice.charStart : 0;
    const textStart =
      charStart === undefined || charBase === undefined ? undefined : charBase + charStart;
    return {
      sha256: parent.sha256,
      kind: "string",
      chars,
      bytes: end - start,
      slice: {
        start: base + start,
        end: base + end,
        ...(textStart === undefined ? {} : { charStart: textStart }),
      },
    };
  }

  private async getSlice(
    key: string,
    slice: { start: number; end: number },
  ): Promise<Buffer | null> {
    if (slice.end <= slice.start)
      return (await this.redis.exists(key)) === 1 ? Buffer.alloc(0) : null;
    // GETRANGE cannot tell a missing key from an empty range: check the length too.
    const [range, length] = await Promise.all([
      this.redis.getrangeBuffer(key, slice.start, slice.end - 1),
      this.redis.strlen(key),
    ]);
    return length === 0 ? null : range;
  }

  /**
   * Extends the context's TTL to at least `ttlSeconds` (default: the store's TTL), e.g.
   * when a worker starts an analysis whose context was stored long ago.
   * Returns false if the context is gone.
   */
  async touch(ref: ContextRef, ttlSeconds: number = this.ttlSeconds): Promise<boolean> {
    const found = await luaScripts.contextTouch.run(
      this.redis,
      [this.keys.context(ref.sha256)],
      [ttlSeconds],
    );
    return found === 1;
  }

  /** True if the context is stored. */
  async has(ref: ContextRef): Promise<boolean> {
    return (await this.redis.exists(this.keys.context(ref.sha256))) === 1;
  }
}

function missing(ref: ContextRef): RlmError {
  return new RlmError(
    QueueErrorCode.contextMissing,
    `context ${ref.sha256.slice(0, 12)}… is no longer stored (expired or deleted)`,
  );
}

/** Where `ref`'s bytes lie in its stored value: all of it, or its slice. */
function storedSpan(ref: ContextRef): { start: number; end: number } {
  return { start: ref.slice?.start ?? 0, end: ref.slice?.end ?? ref.bytes };
}
