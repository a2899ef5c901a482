import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../src/index.js";

const bounds = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe("backoffDelayMs", () => {
  it("spans [0, base · 2^(attempt − 1)] at the extremes of the jitter", () => {
    expect(backoffDelayMs(1, bounds, () => 0)).toBe(0);
    expect(backoffDelayMs(1, bounds, () => 0.999_999)).toBe(499);
    expect(backoffDelayMs(3, bounds, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(4, bounds, () => 1)).toBe(4000);
  });

  it("never exceeds maxDelayMs, even for huge attempt numbers", () => {
    expect(backoffDelayMs(7, bounds, () => 1)).toBe(30_000); // 500 · 64 = 32000 > cap
    expect(backoffDelayMs(5000, bounds, () => 1)).toBe(30_000);
  });

  it("stays within min(max, base · 2^n) for random jitter", () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const ceiling = Math.min(bounds.maxDelayMs, bounds.baseDelayMs * 2 ** (attempt - 1));
      const delays = Array.from({ length: 200 }, () => backoffDelayMs(attempt, bounds));
      for (const delay of delays) {
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(delay)).toBe(true);
      }
      // Full jitter, not a fixed delay: 200 draws are not all equal.
      expect(new Set(delays).size).toBeGreaterThan(1);
    }
  });

  it("clamps a jitter source that strays outside [0, 1]", () => {
    expect(backoffDelayMs(2, bounds, () => -3)).toBe(0);
    expect(backoffDelayMs(2, bounds, () => 7)).toBe(1000);
  });
});
