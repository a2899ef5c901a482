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

  it("reports a syntax error with its line", () => {
    let caught: unknown;
    try {
      rewriteCell("ok();\nlet = = 1;");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CellSyntaxError);
    expect((caught as CellSyntaxError).line).toBe(2);
    expect((caught as CellSyntaxError).toCellError()).toMatch(/^SyntaxError: .+ \(line 2\)$/);
  });
});
