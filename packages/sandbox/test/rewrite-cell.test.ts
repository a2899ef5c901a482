import { strategyScript } from "@rlm/mock-llm";
import { describe, expect, it } from "vitest";
import { CellSyntaxError, rewriteCell as rewriteCellWith } from "../src/index.js";
import {
  acornCellParser,
  type CellParser,
  defaultCellParser,
  oxcCellParser,
} from "../src/parse-cell.js";

const PARSERS: Array<[string, CellParser]> = [["acorn", acornCellParser]];
if (oxcCellParser) PARSERS.push(["oxc-parser", oxcCellParser]);

describe.each(PARSERS)("rewriteCell with %s", (_name, parser) => {
  const rewriteCell = (code: string) => rewriteCellWith(code, parser);

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

// The cells of every strategy the mock plays, and corners of the grammar: whatever the
// parser, the same rewrite (oxc-parser's JavaScript AST is ESTree, node for node as acorn's).
const SCRIPT_INPUT = {
  query: 'How many times does "zebra" appear?',
  term: "zebra",
  chunkChars: 10_000,
};
const CORPUS = [
  ...(["peek-grep", "needle", "map-reduce", "summarize"] as const).flatMap((strategy) =>
    strategyScript(strategy, SCRIPT_INPUT).flatMap((reply) =>
      [...reply.matchAll(/```(?:repl|js)\n([\s\S]*?)```/g)].map((block) => block[1]!),
    ),
  ),
  "const { a, b: [c, ...d], ...e } = obj, f = `t${a}`\nlet g\nvar h = 1, i\nclass J extends K { #p = 1; static { var notTop = 1 } }\n({ a, c })",
  "for (var x in o) { if (x) { var y = x } else { var z } }\ntry { var t = 1 } catch { var u } finally { var v }\nlabel: for (;;) { var w; break label }\nw",
  "async function* gen() { var inner = 1; yield await 1 }\nconst arrow = async () => { var insideArrow }\nswitch (k) { case 1: var s = 2 }\nx?.y ?? (await z)",
  "/regex[/]/g.test(s) && print('ok') // comment\n/* block */ 0x1f + 1_000n\n'€ ünïcode 🎉'.length",
  "const o = { async *[Symbol.iterator]() {}, get g() { return 1 }, 'k': 2 }; await o",
  "const found = lines.filter((line) => line.includes('@example.com'))\nfound.length",
];

// The tree as JSON data, without what oxc adds: the Program's `hashbang` and
// `sourceType` (a cell with top-level await is a module to oxc), and empty `decorators`.
function tree(parser: CellParser, code: string): unknown {
  const { type, start, end, body } = parser(code);
  const json = JSON.stringify({ type, start, end, body }, (key, value: unknown) => {
    if (key === "decorators" && Array.isArray(value) && value.length === 0) return undefined;
    return typeof value === "bigint" ? `${value}n` : value;
  });
  return JSON.parse(json);
}

describe.runIf(oxcCellParser)("rewriteCell: oxc-parser against acorn", () => {
  it("has the mock's cells to compare", () => {
    expect(CORPUS.length).toBeGreaterThan(15);
  });

  it.each(CORPUS.map((code) => [code.slice(0, 40), code]))("%s…", (_head, code) => {
    expect(tree(oxcCellParser!, code)).toEqual(tree(acornCellParser, code));
    expect(rewriteCellWith(code, oxcCellParser!)).toEqual(rewriteCellWith(code, acornCellParser));
  });

  it("is the parser cells are rewritten with where its binding is installed", () => {
    expect(defaultCellParser).toBe(oxcCellParser);
  });
});
