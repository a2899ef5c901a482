import type { Prng } from "./prng.js";
import { REGIONS } from "./regions.js";

/** Revenue and profit of one region, in EUR million. */
export interface Segment {
  name: string;
  current: number;
  prior: number;
  profit: number;
}

/**
 * The group's headline figures, drawn once so that "The Year at a Glance" and the
 * financial statements quote the same numbers.
 */
export function segmentFigures(rng: Prng): Segment[] {
  return REGIONS.map((region) => {
    const current = rng.float(260, 900, 1);
    return {
      name: region.name,
      current,
      prior: round1(current / (1 + rng.float(0.01, 0.12, 3))),
      profit: round1(current * rng.float(0.04, 0.11, 3)),
    };
  });
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function total(values: readonly number[]): number {
  return round1(values.reduce((a, b) => a + b, 0));
}
