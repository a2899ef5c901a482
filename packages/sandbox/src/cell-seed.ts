import { createHash } from "node:crypto";

/** What a cell's deterministic `Math.random` and `Date` start from. */
export interface CellSeed {
  /** Four 32-bit words for the isolate's PRNG (sfc32). */
  words: [number, number, number, number];
  /** The fake clock's first reading, in ms since the epoch. */
  clockBase: number;
}

// The fake clock starts somewhere in 2024, so dates look plausible to a model.
const CLOCK_EPOCH_MS = Date.UTC(2024, 0, 1);
const CLOCK_SPAN_S = 366 * 24 * 60 * 60;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Derives a cell's PRNG state from (seed, cellKey) and its clock base from `clockStartMs`
 * (when the analysis began) or, without it, from the seed alone.
 * A cell therefore replays identically whatever ran before it, and cells with different
 * keys draw different numbers.
 */
export function deriveCellSeed(seed: string, cellKey: string, clockStartMs?: number): CellSeed {
  const words = digest(`rlm-random\u0000${seed}\u0000${cellKey}`);
  const clock = digest(`rlm-clock\u0000${seed}`);
  return {
    words: [
      words.readInt32LE(0),
      words.readInt32LE(4),
      words.readInt32LE(8),
      words.readInt32LE(12),
    ],
    clockBase:
      clockStartMs !== undefined && Number.isFinite(clockStartMs)
        ? Math.trunc(clockStartMs)
        : CLOCK_EPOCH_MS + (clock.readUInt32LE(0) % CLOCK_SPAN_S) * 1000,
  };
}
