import { createRequire } from "node:module";
import type { Program } from "acorn";
import { CellSyntaxError } from "./cell-syntax-error.js";

/**
 * Parses a cell into an ESTree `Program` (top-level `await` allowed, sloppy mode, every
 * node with UTF-16 `start`/`end` offsets into the cell's code).
 *
 * @throws {CellSyntaxError} when the cell does not parse.
 */
export type CellParser = (code: string) => Program;

type OxcParseSync = typeof import("oxc-parser").parseSync;

// oxc-parser's native binding is loaded once per process, when this module is. Why not
// acorn alone: a cell is parsed on the way from a root answer to its first sub-call, and
// acorn's JavaScript is cold in a process that has parsed few cells (its JIT never warms
// up over a handful of cells per analysis): 1–5 ms for a fan-out cell of 1.3 KB, 16 ms
// the first time, and again for every cell a rebuild replays. oxc parses the same cell
// in 0.05–0.3 ms. acorn stays for the cells oxc refuses (below) and for platforms where
// the binding is not installed.
let oxcParseSync: OxcParseSync | undefined;
try {
  ({ parseSync: oxcParseSync } = await import("oxc-parser"));
} catch {
  oxcParseSync = undefined;
}

/**
 * oxc-parser, for the cells it accepts. A cell it refuses, or takes for a module
 * (import/export), is parsed again by acorn, so what is refused, and the message the
 * model reads, is acorn's: oxc parses a cell with top-level `await` as a module, whose
 * strict-mode rules (`with`, octal literals…) the REPL does not apply. So is a cell with
 * an `@` anywhere: oxc accepts decorators, which neither acorn nor Node 20's V8 do.
 */
export const oxcCellParser: CellParser | undefined = oxcParseSync
  ? (code) => {
      if (code.includes("@")) return acornCellParser(code);
      const result = oxcParseSync!("cell.js", code, {
        // A script, unless top-level `await` (or import/export) makes it a module.
        sourceType: "unambiguous",
        lang: "js",
        preserveParens: false,
        // Redeclarations, labels, `break` outside a loop… as acorn checks them.
        showSemanticErrors: true,
      });
      if (result.errors.length > 0) return acornCellParser(code);
      // oxc's JavaScript AST is ESTree, node for node as acorn builds it.
      const program = result.program as unknown as Program;
      for (const statement of program.body) {
        if (statement.type.startsWith("Import") || statement.type.startsWith("Export")) {
          return acornCellParser(code);
        }
      }
      return program;
    }
  : undefined;

let acorn: typeof import("acorn") | undefined;

/** acorn, loaded on first use (only where oxc-parser's binding is missing, or in tests). */
export const acornCellParser: CellParser = (code) => {
  acorn ??= createRequire(import.meta.url)("acorn") as typeof import("acorn");
  let program: Program;
  try {
    program = acorn.parse(code, {
      ecmaVersion: "latest",
      sourceType: "script",
      allowAwaitOutsideFunction: true,
      // No per-node locations: only a syntax error's line is needed, and acorn's error
      // carries it anyway.
    });
  } catch (error) {
    const loc = (error as { loc?: { line?: unknown } }).loc;
    const line = typeof loc?.line === "number" ? loc.line : 1;
    // acorn appends "(line:column)"; the model gets "(line L)" instead.
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /\s*\(\d+:\d+\)$/,
      "",
    );
    throw new CellSyntaxError(message, line);
  }
  return program;
};

/** The parser cells are rewritten with: oxc-parser where its binding loads, else acorn. */
export const defaultCellParser: CellParser = oxcCellParser ?? acornCellParser;
