import { describe, expect, it } from "vitest";
import { describeContext } from "../src/describe-context.js";
import { ROOT_SYSTEM_PROMPT, rootUserPrompt } from "../src/prompts.js";

/** A conservative token estimate (real tokenizers give fewer tokens for English). */
const tokens = (text: string) => Math.ceil(text.length / 3.5);

describe("describeContext and the first root prompt", () => {
  it("describes a string with its length and a head-and-tail preview", () => {
    const text = `HEAD${"x".repeat(10_000)}TAIL`;
    const description = describeContext(text, 100);
    expect(description.type).toBe("string");
    expect(description.totalChars).toBe(10_008);
    expect(description.head.startsWith("HEAD")).toBe(true);
    expect(description.tail.endsWith("TAIL")).toBe(true);
    expect(description.head.length + description.tail.length).toBe(200);
  });

  it("describes arrays with item counts and lengths", () => {
    const description = describeContext(["a", "bb", "ccc", "dddd"], 50);
    expect(description.type).toBe("array");
    expect(description.items).toEqual({
      count: 4,
      minChars: 1,
      maxChars: 4,
      firstLengths: [1, 2, 3, 4],
    });
    expect(description.totalChars).toBe(10);
  });

  it("describes objects with their keys", () => {
    const description = describeContext({ title: "t", body: ["x", "y"] }, 50);
    expect(description.type).toBe("object");
    expect(description.keys).toEqual(["title", "body"]);
  });

  it("keeps the first root prompt under 2,000 tokens whatever the context size", () => {
    for (const size of [1_000, 1_000_000, 10_000_000]) {
      const context = "The quick brown fox reports incident INC-7731. ".repeat(size / 47);
      const prompt =
        ROOT_SYSTEM_PROMPT +
        rootUserPrompt("How many incidents?", describeContext(context, 600), {
          number: 1,
          max: 10,
          depth: 0,
        });
      expect(tokens(prompt)).toBeLessThan(2_000);
    }
    const manyItems = Array.from({ length: 100_000 }, (_, index) => `item ${index}`);
    const prompt =
      ROOT_SYSTEM_PROMPT +
      rootUserPrompt("q", describeContext(manyItems, 600), { number: 1, max: 10, depth: 0 });
    expect(tokens(prompt)).toBeLessThan(2_000);
  });

  it("describes an array of 300,000 items without overflowing the stack", () => {
    const description = describeContext(
      Array.from({ length: 300_000 }, (_, index) => `line ${index}`),
      100,
    );
    expect(description.items?.count).toBe(300_000);
    expect(description.items?.minChars).toBe(6);
    expect(description.items?.maxChars).toBe(11);
  });

  it("tells the model its budgets when there are any", () => {
    const description = describeContext("some text", 100);
    const iteration = { number: 1, max: 10, depth: 0 };
    expect(rootUserPrompt("q", description, iteration)).not.toContain("Budget");
    expect(
      rootUserPrompt("q", description, iteration, { maxSubCalls: 40, maxTokens: 200_000 }),
    ).toContain("Budget for the whole analysis: at most 40 recursiveLm calls, 200,000 tokens.");
  });

  it("previewChars 0 shows no text at either end (not the whole context as its tail)", () => {
    const text = "x".repeat(5_000);
    expect(describeContext(text, 0)).toEqual({
      type: "string",
      totalChars: 5_000,
      head: "",
      tail: "",
    });
    const items = describeContext(["alpha", "beta", "gamma", "delta"], 0);
    expect(items.head).toBe("");
    expect(items.tail).toBe("");
  });

  it("shows the end of a short array's last item, not only the start of its first", () => {
    const description = describeContext(["aaa", "bbbbbb", `${"c".repeat(2_000)}END`], 600);
    expect(description.head.startsWith("aaa\n---\nbbbbbb")).toBe(true);
    expect(description.head).toHaveLength(600);
    expect(description.tail.endsWith("cEND")).toBe(true);
    expect(description.tail).toHaveLength(600);
    // Short enough to show whole: all of it in the head, no tail.
    expect(describeContext(["a", "b"], 600)).toMatchObject({ head: "a\n---\nb", tail: "" });
  });
});
