import { describe, expect, it } from "vitest";
import { CellSyntaxError, rewriteCell } from "../src/index.js";

describe("rewriteCell", () => {
  it("turns top-level declarations into global assignments and hoists their names", () => {
    const { source, declaredNames } = rewriteCell(
      "const a = 1, { b, c: [d] } = o;\nlet e;\nclass F {}",
    );
    expect(declaredNames).toEqual(["a", "b", "d", "e", "F"]);
    expect(source).toBe(
      "var a, b, d, e, F; (async () => {void ((a = 1), ({ b, c: [d] } = o));\nvoid ((e = undefined));\nF = class F {};\n})()",
    );
  });

  it("copies top-level functions to globals and keeps them hoisted", () => {
    const { source, declaredNames } = rewriteCell("function f() {}\nasync function* g() {}");
    expect(declaredNames).toEqual(["f", "g"]);
    expect(source.startsWith("(async () => {this.f = f; this.g = g; function f() {}")).toBe(true);
  });

  it("rewrites vars nested in top-level blocks and loop heads, not inside functions", () => {
    const { source, declaredNames } = rewriteCell(
      "for (var i = 0; i < 2; i++) { var j = i }\nfor (var k of [1]) {}\nfunction h() { var local = 1 }",
    );
    expect(declaredNames).toEqual(["i", "j", "k", "h"]);
    expect(source).toContain("for ((i = 0); i < 2; i++) { void ((j = i)); }");
    expect(source).toContain("for (k of [1])");
    expect(source).toContain("var local = 1");
  });

  it("returns the last expression unless it prints or records an answer", () => {
    expect(rewriteCell("x + 1;").displaysLastValue).toBe(true);
    expect(rewriteCell("({ a: 1 })").source).toContain("return (({ a: 1 }))");
    expect(rewriteCell("print(x)").displaysLastValue).toBe(false);
    expect(rewriteCell("console.log(x)").displaysLastValue).toBe(false);
    expect(rewriteCell("await FINAL(x)").displaysLastValue).toBe(false);
    expect(rewriteCell("x = 1; const y = 2").displaysLastValue).toBe(false);
  });

  it("keeps every statement on its original line", () => {
    const code = "const a = 1,\n  b = 2\nlet c\nfoo()";
    const { source } = rewriteCell(code);
    expect(source.split("\n").length).toBe(code.split("\n").length + 1);
    expect(source.split("\n")[3]).toBe("return (foo())");
  });

  it("reports a syntax error with its line, column, the line itself and a caret", () => {
    let caught: unknown;
    try {
      rewriteCell("ok();\nconst total = sum(;");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CellSyntaxError);
    expect((caught as CellSyntaxError).line).toBe(2);
    expect((caught as CellSyntaxError).toCellError()).toBe(
      "SyntaxError: Unexpected token (line 2, column 19)\n  const total = sum(;\n                    ^",
    );
  });

  it("puts the caret under the column in a tab-indented line", () => {
    try {
      rewriteCell("if (x) {\n\tlet = = 1;\n}");
      throw new Error("no syntax error");
    } catch (error) {
      const lines = (error as CellSyntaxError).toCellError().split("\n");
      expect(lines[1]).toBe("  \tlet = = 1;");
      expect(lines[2]).toMatch(/^ {2}\t +\^$/);
      const column = (error as CellSyntaxError).column;
      expect(lines[2]!.length - 3).toBe(column);
    }
  });

  const lineOfError = (code: string): number => {
    try {
      rewriteCell(code);
    } catch (error) {
      expect(error).toBeInstanceOf(CellSyntaxError);
      return (error as CellSyntaxError).line;
    }
    throw new Error(`no syntax error for ${JSON.stringify(code)}`);
  };

  it("refuses what V8 would refuse before anything runs, with the line", () => {
    expect(lineOfError("let a = 1;\nlet a = 2;")).toBe(2); // redeclared in one cell
    expect(lineOfError("x = 1\nbreak;")).toBe(2);
    expect(lineOfError("const s = 'é🎉 – ü';\n\nfoo(")).toBe(3); // offsets in UTF-16
    expect(lineOfError("a = 1\r\nb = 2\r\n)")).toBe(3);
    expect(lineOfError("import fs from 'node:fs';")).toBe(1);
    expect(lineOfError("x = 1;\nexport const y = 2;")).toBe(2);
    expect(lineOfError("const z;")).toBe(1);
    expect(lineOfError("await f()\nreturn 5")).toBe(2);
  });

  it("refuses decorators, which Node 20 does not run", () => {
    expect(lineOfError("x = 1\n@sealed class A {}")).toBe(2);
  });

  it("accepts sloppy-mode code beside top-level await, as the REPL runs it", () => {
    expect(rewriteCell("const r = await f();\nwith (o) { g() }\nr").displaysLastValue).toBe(true);
    expect(rewriteCell("var await = 1; await + 1").declaredNames).toEqual(["await"]);
  });
});
