import { describe, expect, it } from "vitest";
import { InvalidOptionsError } from "../src/errors.js";
import { DEFAULT_LIMITS, resolveEngineOptions } from "../src/options.js";

describe("resolveEngineOptions", () => {
  it("applies the documented defaults", () => {
    const options = resolveEngineOptions({ rootModel: "gpt-4o" });
    expect(options.maxIterations).toBe(10);
    expect(options.maxDepth).toBe(1);
    expect(options.subModel).toBe("gpt-4o");
    expect(options.limits).toEqual(DEFAULT_LIMITS);
    expect(options.budgets).toEqual({});
  });

  it("merges partial limits and keeps budgets", () => {
    const options = resolveEngineOptions({
      limits: { cellTimeoutMs: 5_000 },
      budgets: { maxSubCalls: 3, maxCostUsd: 0.5 },
    });
    expect(options.limits.cellTimeoutMs).toBe(5_000);
    expect(options.limits.memoryMb).toBe(DEFAULT_LIMITS.memoryMb);
    expect(options.budgets).toEqual({ maxSubCalls: 3, maxCostUsd: 0.5 });
  });

  it("rejects bad values with every problem named", () => {
    try {
      resolveEngineOptions({ maxIterations: 0, subConcurrency: 1.5 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError);
      const message = (error as Error).message;
      expect(message).toContain("maxIterations");
      expect(message).toContain("subConcurrency");
      expect((error as InvalidOptionsError).code).toBe("invalid_options");
      expect((error as InvalidOptionsError).retryable).toBe(false);
    }
  });

  it("rejects unknown limit keys instead of ignoring a typo", () => {
    expect(() =>
      resolveEngineOptions({ limits: { cellTimeout: 5 } as unknown as { cellTimeoutMs: number } }),
    ).toThrow(/limits/);
  });

  it("rejects unknown top-level options instead of ignoring a typo", () => {
    expect(() =>
      resolveEngineOptions({ maxIteration: 3 } as unknown as Parameters<
        typeof resolveEngineOptions
      >[0]),
    ).toThrow(/maxIteration/);
  });
});
