import { describe, expect, it } from "vitest";
import { computeCost, DEFAULT_PRICES, priceFor } from "../src/index.js";

describe("priceFor", () => {
  it("knows the common OpenAI models", () => {
    const models = [
      "gpt-4o",
      "gpt-4o-mini",
      "gpt-4.1",
      "gpt-4.1-mini",
      "gpt-4.1-nano",
      "gpt-5",
      "gpt-5-mini",
      "gpt-5-nano",
      "o1",
      "o3",
      "o3-mini",
      "o4-mini",
      "gpt-3.5-turbo",
    ];
    for (const model of models) expect(priceFor(model), model).toBeDefined();
  });

  it("prices dated variants by the longest matching prefix", () => {
    expect(priceFor("gpt-4o-2024-08-06")).toBe(DEFAULT_PRICES["gpt-4o"]);
    expect(priceFor("gpt-4o-mini-2024-07-18")).toBe(DEFAULT_PRICES["gpt-4o-mini"]);
    expect(priceFor("gpt-4.1-nano-2025-04-14")).toBe(DEFAULT_PRICES["gpt-4.1-nano"]);
    expect(priceFor("o3-mini-2025-01-31")).toBe(DEFAULT_PRICES["o3-mini"]);
    // An exact entry beats the prefix.
    expect(priceFor("gpt-4o-2024-05-13")).toEqual({ input: 5, output: 15 });
  });

  it("does not mistake a different model for a prefix of it", () => {
    expect(priceFor("gpt-5.2")).toBeUndefined();
    expect(priceFor("o30")).toBeUndefined();
    expect(priceFor("my-gpt-4o")).toBeUndefined();
    expect(priceFor("llama-3.1-8b")).toBeUndefined();
  });

  it("ignores case and uses the given table", () => {
    expect(priceFor("GPT-4o")).toBe(DEFAULT_PRICES["gpt-4o"]);
    expect(priceFor("gpt-4o", { other: { input: 1, output: 1 } })).toBeUndefined();
  });
});

describe("computeCost", () => {
  it("bills cached input at the cached rate", () => {
    const cost = computeCost(
      { inputTokens: 1_000_000, cachedInputTokens: 500_000, outputTokens: 1_000_000 },
      "gpt-4.1",
    );
    // 0.5M × $2 + 0.5M × $0.50 + 1M × $8
    expect(cost).toBeCloseTo(1 + 0.25 + 8, 10);
  });

  it("bills cached input at the input rate when the model has no cached rate", () => {
    const cost = computeCost(
      { inputTokens: 1_000_000, cachedInputTokens: 1_000_000, outputTokens: 0 },
      "gpt-3.5-turbo",
    );
    expect(cost).toBeCloseTo(0.5, 10);
  });

  it("never bills more cached tokens than input tokens", () => {
    const cost = computeCost(
      { inputTokens: 100, cachedInputTokens: 500, outputTokens: 0 },
      "gpt-4o",
    );
    expect(cost).toBeCloseTo((100 * 1.25) / 1e6, 12);
  });

  it("returns null for an unknown model", () => {
    expect(
      computeCost({ inputTokens: 10, cachedInputTokens: 0, outputTokens: 10 }, "mystery-model"),
    ).toBeNull();
  });
});
