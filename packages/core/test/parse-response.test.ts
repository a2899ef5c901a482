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
    expect(parsed.otherFences).toEqual([
      { language: "", code: "untagged" },
      { language: "python", code: "x = 1" },
      { language: "json", code: "{}" },
    ]);
    expect(parsed.prose).toBe("Intro.\nEnd.");
    expect(parseResponse("```JS\nprint(1)\n```").otherFences).toEqual([]);
    expect(parseResponse("FINAL(1)")).toEqual({
      codeBlocks: [],
      otherFences: [],
      prose: "FINAL(1)",
      finalMentioned: false,
      finalDirective: { kind: "FINAL", answer: "1" },
    });
  });

  it("takes a directive only where FINAL( or FINAL_VAR( begins a line, and reports a mention elsewhere", () => {
    const plan = parseResponse(
      "First I will find the day in the logs, then I will report it with FINAL(day).",
    );
    expect(plan.finalDirective).toBeUndefined();
    expect(plan.finalMentioned).toBe(true);
    const variable = parseResponse("Once counted, the answer goes to FINAL_VAR(total) as usual.");
    expect(variable.finalDirective).toBeUndefined();
    expect(variable.finalMentioned).toBe(true);
    const indented = parseResponse("The outage was on a Tuesday.\n   FINAL(Tuesday)");
    expect(indented.finalDirective).toEqual({ kind: "FINAL", answer: "Tuesday" });
    expect(indented.finalMentioned).toBe(false);
    expect(parseResponse("  FINAL_VAR(day)").finalDirective).toEqual({
      kind: "FINAL_VAR",
      name: "day",
    });
    expect(parseResponse("No answer yet.").finalMentioned).toBe(false);
  });

  it("closes a fence only at a line that is just the fence, so code holding ``` runs whole", () => {
    const code = [
      "const cleaned = answers.map((a) => a.replace(/```json\\n?|```/g, '').trim())",
      'const fenced = lines.filter((l) => l.startsWith("```"))',
      "print(cleaned.length, fenced.length)",
    ].join("\n");
    const parsed = parseResponse(
      `Let me clean the replies.\n\n\`\`\`repl\n${code}\n  \`\`\`  \n\nThen count.`,
    );
    expect(parsed.codeBlocks).toEqual([code]);
    expect(parsed.prose).toBe("Let me clean the replies.\n\n\nThen count.");
  });

  it("needs at least as many backticks to close a longer fence, and runs an unclosed fence to the end", () => {
    const parsed = parseResponse("````repl\nconst md = '```'\n```\nprint(md)\n````");
    expect(parsed.codeBlocks).toEqual(["const md = '```'\n```\nprint(md)"]);
    expect(parseResponse("```repl\nprint(1)\nprint(2)").codeBlocks).toEqual(["print(1)\nprint(2)"]);
  });

  it("reads CRLF replies like LF ones", () => {
    const parsed = parseResponse("Plan.\r\n```repl\r\nprint(1)\r\n```\r\nFINAL_VAR(x)");
    expect(parsed.codeBlocks).toEqual(["print(1)"]);
    expect(parsed.finalDirective).toEqual({ kind: "FINAL_VAR", name: "x" });
  });
});
