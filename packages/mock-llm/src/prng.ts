import { createHash } from "node:crypto";

/** A pseudo-random source of floats in [0, 1). */
export type Prng = () => number;

/**
 * A seeded PRNG (mulberry32). The seed is hashed first so that nearby seeds ("1", "2")
 * and string seeds give unrelated sequences; `stream` separates independent sequences
 * from one seed (faults and jitter must not shift each other when one is turned on).
 */
export function createPrng(seed: number | string, stream = ""): Prng {
  let state = createHash("sha256")
    .update(`${String(seed)}\u0000${stream}`)
    .digest()
    .readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
