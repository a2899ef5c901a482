import { describe, expect, it } from "vitest";
import { parseResponse } from "../src/parse-response.js";

describe("parseResponse", () => {
  it("takes js, javascript and repl blocks in order and ignores other fences", () => {
    const parsed = parseResponse(
      "look:\n```js\nprint(1)\n```\n```python\nx=1\n```\n```repl\nprint(2)\n```\n```javascript\nprint(3)\n```",
    );
    expect(parsed.codeBlocks).toEqual(["print(1)", "print(2)", "print(3)"]);
    expect(parsed.finalDirective).toBeUndefined();
  });

  it("reads FINAL(...) in text, unquoting a string literal and keeping inner parentheses", () => {
    expect(parseResponse('FINAL("42 (forty-two)")').finalDirective).toEqual({
      kind: "FINAL",
      answer: "42 (forty-two)",
    });
    expect(
      parseResponse("The answer is done.\nFINAL(There are 12 incidents (all closed))")
        .finalDirective,
    ).toEqual({ kind: "FINAL", answer: "There are 12 incidents (all closed)" });
  });

  it("reads FINAL_VAR with or without quotes", () => {
    expect(parseResponse("FINAL_VAR(total)").finalDirective).toEqual({
      kind: "FINAL_VAR",
      name: "total",
    });
    expect(parseResponse('FINAL_VAR("total")').finalDirective).toEqual({
      kind: "FINAL_VAR",
      name: "total",
    });
  });

  it("does not take FINAL written inside a code block as a text directive", () => {
    const parsed = parseResponse("```repl\nFINAL(count)\n```");
    expect(parsed.codeBlocks).toEqual(["FINAL(count)"]);
    expect(parsed.finalDirective).toBeUndefined();
  });

  it("reports a text FINAL next to code so the engine can refuse it", () => {
    const parsed = parseResponse("```repl\nprint(count)\n```\nFINAL(7)");
    expect(parsed.codeBlocks).toEqual(["print(count)"]);
    expect(parsed.finalDirective).toEqual({ kind: "FINAL", answer: "7" });
  });

  it("ignores identifiers that merely end in FINAL", () => {
    expect(parseResponse("call NOT_FINAL(3) later").finalDirective).toBeUndefined();
  });

  it("ignores code and FINAL inside a reasoning model's <think> section", () => {
    const parsed = parseResponse(
      "<think>maybe ```repl\nprint(1)\n``` then FINAL(wrong)</think>\n```repl\nprint(2)\n```",
    );
    expect(parsed.codeBlocks).toEqual(["print(2)"]);
    expect(parsed.finalDirective).toBeUndefined();
  });

  it("ends a text FINAL at its own closing parenthesis, not at the last one in the reply", () => {
    expect(
      parseResponse("FINAL(42)\n\nI counted the matches (case-insensitive).").finalDirective,
    ).toEqual({ kind: "FINAL", answer: "42" });
    expect(parseResponse('FINAL("a ) inside quotes")').finalDirective).toEqual({
      kind: "FINAL",
      answer: "a ) inside quotes",
    });
  });

  it("counts the fences that do not run and keeps the text outside every fence", () => {
    const parsed = parseResponse(
      "Intro.\n```\nuntagged\n```\n```python\nx = 1\n```\n```repl\nprint(1)\n```\n```json\n{}\n```\nEnd.",
    );
    expect(parsed.codeBlocks).toEqual(["print(1)"]);
    expect(parsed.otherFences).toEqual(["untagged", "x = 1", "{}"]);
    expect(parsed.prose).toBe("Intro.\n\n\n\n\nEnd.");
    expect(parseResponse("```JS\nprint(1)\n```").otherFences).toEqual([]);
    expect(parseResponse("FINAL(1)")).toEqual({
      codeBlocks: [],
      otherFences: [],
      prose: "FINAL(1)",
      finalDirective: { kind: "FINAL", answer: "1" },
    });
  });
});
