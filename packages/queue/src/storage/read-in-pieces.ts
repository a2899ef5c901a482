import type { RedisClient } from "./redis-client.js";
import {
  type CollectGarbage,
  LARGE_DOCUMENT_BYTES,
  READ_COLLECTION_SPACING_BYTES,
} from "../documents/large-document.js";

/**
 * Values larger than this are read with GETRANGE in pieces of this size into one buffer.
 * Why: a single GET of 100 MB makes the Redis parser hold every socket chunk and then
 * their concatenation, twice the document, before the caller sees a byte. Small pieces
 * also keep the socket chunks of each reply short-lived, so V8's young-generation
 * collections can free them during the read (with 8 MB pieces they outlived those and
 * stayed until a full collection: ~0.3 more of the document at peak, 100 MB measured);
 * a worker that only waits makes too few of those, hence `collectGarbage`.
 */
export const READ_PIECE_BYTES = 1024 * 1024;

/** GETRANGE requests outstanding while a large value is read. */
const READ_PIECES_IN_FLIGHT = 4;

/**
 * Reads bytes `[start, end)` of the string at `key` in pieces of `READ_PIECE_BYTES` into
 * one buffer, a few pieces in flight. Undefined when the value is shorter than asked (it
 * expired, or was replaced, while it was read).
 */
export async function readInPieces(
  redis: RedisClient,
  key: string,
  start: number,
  end: number,
  options: { releaseBuffer?: (buffer: Buffer) => void; collectGarbage?: CollectGarbage },
): Promise<Buffer | undefined> {
  const bytes = Buffer.allocUnsafeSlow(end - start);
  const read = (offset: number) =>
    redis.getrangeBuffer(key, start + offset, Math.min(start + offset + READ_PIECE_BYTES, end) - 1);
  // A few pieces on their way while one is copied: the read is not a round trip per MB.
  const pending: Promise<Buffer>[] = [];
  let requested = 0;
  const requestMore = () => {
    while (pending.length < READ_PIECES_IN_FLIGHT && requested < bytes.length) {
      pending.push(read(requested));
      requested += READ_PIECE_BYTES;
    }
  };
  const { collectGarbage } = options;
  const collectEvery =
    collectGarbage && bytes.length >= LARGE_DOCUMENT_BYTES
      ? READ_COLLECTION_SPACING_BYTES
      : Number.POSITIVE_INFINITY;
  let sinceCollection = 0;
  requestMore();
  try {
    for (let offset = 0; offset < bytes.length; offset += READ_PIECE_BYTES) {
      const piece = await pending.shift()!;
      // Shorter than stored: the key expired (or was replaced) while it was read.
      if (piece.length !== Math.min(READ_PIECE_BYTES, bytes.length - offset)) {
        await Promise.allSettled(pending);
        return undefined;
      }
      piece.copy(bytes, offset);
      options.releaseBuffer?.(piece);
      // The next pieces are on their way while the young generation is collected.
      requestMore();
      sinceCollection += piece.length;
      // Not after the last piece: the document cache collects the whole heap then.
      if (sinceCollection >= collectEvery && offset + piece.length < bytes.length) {
        sinceCollection = 0;
        collectGarbage?.("minor");
      }
    }
  } catch (error) {
    // The pieces still on their way must not reject unheard (that ends the process).
    await Promise.allSettled(pending);
    throw error;
  }
  return bytes;
}
