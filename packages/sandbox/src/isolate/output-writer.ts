import { stringSlice } from "./intrinsics.js";

/** Collects at most `limit` characters and counts the rest. */
export interface OutputWriter {
  text: string;
  stored: number;
  dropped: number;
  put(piece: string): void;
  full(): boolean;
}

/**
 * A writer that keeps at most `limit` characters and counts the rest, so printing a
 * 100 MB value costs no more isolate memory than the output cap. Built as a literal so no
 * property is ever assigned through a (possibly polluted) prototype chain.
 */
export function createWriter(limit: number): OutputWriter {
  const writer: OutputWriter = {
    text: "",
    stored: 0,
    dropped: 0,
    put(piece) {
      const length = piece.length;
      const room = limit - writer.stored;
      if (room >= length) {
        writer.text += piece;
        writer.stored += length;
      } else if (room > 0) {
        writer.text += stringSlice(piece, 0, room);
        writer.stored += room;
        writer.dropped += length - room;
      } else {
        writer.dropped += length;
      }
    },
    full() {
      return writer.stored >= limit;
    },
  };
  return writer;
}
