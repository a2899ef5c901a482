import { type Program, parse } from "acorn";
import { CellSyntaxError } from "./cell-syntax-error.js";

/**
 * Parses a cell into an ESTree `Program` with acorn (top-level `await` allowed, sloppy
 * mode, every node with UTF-16 `start`/`end` offsets into the cell's code), as the REPL
 * runs it: a script inside an async function.
 *
 * Why acorn alone (not also oxc-parser, as before): one parser means one set of rules for
 * what is refused and one kind of message; oxc parsed cells with top-level `await` as
 * modules (strict rules the REPL does not apply) and accepted decorators that Node 20
 * does not run, so every refused cell went through acorn anyway. acorn's cold parse of a
 * fan-out cell is 1–5 ms in a fresh process, against a model turn of seconds.
 *
 * @throws {CellSyntaxError} when the cell does not parse (with line, column and the line).
 */
export function parseCell(code: string): Program {
  try {
    return parse(code, {
      ecmaVersion: "latest",
      sourceType: "script",
      allowAwaitOutsideFunction: true,
    });
  } catch (error) {
    const loc = (error as { loc?: { line?: unknown; column?: unknown } }).loc;
    const line = typeof loc?.line === "number" ? loc.line : 1;
    const column = typeof loc?.column === "number" ? loc.column : 0;
    // acorn appends "(line:column)"; the error says where in its own words.
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /\s*\(\d+:\d+\)$/,
      "",
    );
    throw new CellSyntaxError(message, { code, line, column });
  }
}
