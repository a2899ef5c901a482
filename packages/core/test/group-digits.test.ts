import { describe, expect, it } from "vitest";
import { groupDigits, rootUserPrompt } from "../src/index.js";

describe("groupDigits", () => {
  it("groups thousands with commas", () => {
    expect(groupDigits(0)).toBe("0");
    expect(groupDigits(999)).toBe("999");
    expect(groupDigits(1000)).toBe("1,000");
    expect(groupDigits(988_866)).toBe("988,866");
    expect(groupDigits(104_857_600)).toBe("104,857,600");
    expect(groupDigits(-1_234_567)).toBe("-1,234,567");
  });

  it("keeps the whole part only and names what is not a number", () => {
    expect(groupDigits(1234.9)).toBe("1,234");
    expect(groupDigits(Number.POSITIVE_INFINITY)).toBe("Infinity");
    expect(groupDigits(Number.NaN)).toBe("NaN");
  });

  it("writes the root prompt's counts with it", () => {
    const prompt = rootUserPrompt(
      "q",
      { type: "string", totalChars: 1_048_576, head: "a", tail: "b" },
      { number: 1, max: 10, depth: 0 },
      { maxTokens: 2_000_000 },
    );
    expect(prompt).toContain("- total length: 1,048,576 characters");
    expect(prompt).toContain("2,000,000 tokens");
  });
});
