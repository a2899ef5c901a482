import type { AnyNode, Expression, Node, Pattern, Statement, VariableDeclaration } from "acorn";
import { base, type RecursiveVisitors, recursive, type WalkerCallback } from "acorn-walk";
import { CellSyntaxError } from "./cell-syntax-error.js";
import { parseCell } from "./parse-cell.js";

export { CellSyntaxError };

/** A cell rewritten for the REPL: a script whose completion value is the cell's promise. */
export interface RewrittenCell {
  /** Script source; evaluate it at global scope (indirect eval). */
  source: string;
  /** Names the cell declares at top level, now globals. */
  declaredNames: string[];
  /** True when the last statement's value is returned for display. */
  displaysLastValue: boolean;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

// Calls whose result is not worth echoing: they print or record things themselves.
const QUIET_CALLEES = new Set(["print", "FINAL", "FINAL_VAR"]);

function bindingNames(pattern: Pattern, into: string[]): void {
  switch (pattern.type) {
    case "Identifier":
      into.push(pattern.name);
      return;
    case "ObjectPattern":
      for (const property of pattern.properties) {
        if (property.type === "RestElement") bindingNames(property.argument, into);
        else bindingNames(property.value, into);
      }
      return;
    case "ArrayPattern":
      for (const element of pattern.elements) if (element) bindingNames(element, into);
      return;
    case "AssignmentPattern":
      bindingNames(pattern.left, into);
      return;
    case "RestElement":
      bindingNames(pattern.argument, into);
      return;
    default:
      // MemberExpression only occurs in assignment targets, never in declarations.
      return;
  }
}

/**
 * Turns a declaration into assignments, in place so lines and columns stay where they
 * were: `const a = 1, {b} = o;` becomes `void ((a = 1), ({b} = o));`.
 */
/** Where a declaration stands: a statement of its own, or a `for` loop's head. */
type DeclarationPosition = "statement" | "for-init" | "for-left";

function declarationAsAssignments(
  code: string,
  node: VariableDeclaration,
  position: DeclarationPosition,
  edits: Edit[],
): void {
  const keywordEnd = node.start + node.kind.length;
  // Drop the blank after the keyword too, unless it holds a line break (lines must stay).
  const first = node.declarations[0];
  const gap = first ? code.slice(keywordEnd, first.start) : "";
  const replaceEnd = first && /^[ \t]*$/.test(gap) ? first.start : keywordEnd;
  if (position === "for-left") {
    // `for (var x of xs)` -> `for (x of xs)`: the pattern is already an assignment target.
    edits.push({ start: node.start, end: replaceEnd, text: "" });
    return;
  }
  edits.push({
    start: node.start,
    end: replaceEnd,
    text: position === "statement" ? "void (" : "",
  });
  for (const declarator of node.declarations) {
    edits.push({ start: declarator.start, end: declarator.start, text: "(" });
    if (!declarator.init && node.kind !== "var") {
      // `let x;` re-run in a REPL resets x, as a fresh declaration would.
      edits.push({ start: declarator.end, end: declarator.end, text: " = undefined" });
    }
    edits.push({ start: declarator.end, end: declarator.end, text: ")" });
  }
  if (position === "statement") {
    const last = node.declarations[node.declarations.length - 1];
    const lastEnd = last ? last.end : keywordEnd;
    // Close `void (` before an existing semicolon; add one when ASI ended the statement.
    edits.push({ start: lastEnd, end: lastEnd, text: code[node.end - 1] === ";" ? ")" : ");" });
  }
}

function isQuietCall(expression: Expression): boolean {
  let inner: Expression = expression;
  if (inner.type === "AwaitExpression") inner = inner.argument;
  if (inner.type === "ChainExpression") inner = inner.expression as Expression;
  if (inner.type !== "CallExpression") return false;
  const callee = inner.callee;
  if (callee.type === "Identifier") return QUIET_CALLEES.has(callee.name);
  return (
    callee.type === "MemberExpression" &&
    callee.object.type === "Identifier" &&
    callee.object.name === "console"
  );
}

/**
 * Rewrites a cell the way Node's REPL does, so a REPL session behaves like one script:
 *
 * - top-level `const`/`let`/`var`/`class` declarations (destructuring included) become
 *   assignments to globals, and `var`s nested in top-level blocks and loops too, so they
 *   persist to later cells and may be declared again;
 * - top-level function declarations stay hoisted and are copied to globals;
 * - the body runs inside an async arrow function, so top-level `await` works;
 * - a last expression statement is returned, so its value can be displayed.
 *
 * All edits are insertions or keyword replacements on the same line, so line numbers in
 * errors match the model's code.
 *
 * @throws {CellSyntaxError} when the cell does not parse.
 */
export function rewriteCell(code: string): RewrittenCell {
  const program = parseCell(code);
  const edits: Edit[] = [];
  const names: string[] = [];
  const functionNames: string[] = [];

  // `var`s below the top level (in blocks and loop heads, not inside functions) belong to
  // the cell too: they become assignments to globals like the top-level ones.
  const rewriteVar = (declaration: VariableDeclaration, position: DeclarationPosition): void => {
    if (declaration.kind !== "var") return;
    for (const declarator of declaration.declarations) bindingNames(declarator.id, names);
    declarationAsAssignments(code, declaration, position, edits);
  };
  const visitLoopHead = (
    head: Node,
    position: "for-init" | "for-left",
    callback: WalkerCallback<undefined>,
  ): void => {
    if (head.type !== "VariableDeclaration") return callback(head as AnyNode, undefined);
    const declaration = head as VariableDeclaration;
    rewriteVar(declaration, position);
    for (const declarator of declaration.declarations) {
      if (declarator.init) callback(declarator.init, undefined);
    }
  };
  const nestedVars: RecursiveVisitors<undefined> = {
    // A function's (or a static block's) vars are its own, not the cell's.
    Function: () => undefined,
    StaticBlock: () => undefined,
    VariableDeclaration(node, state, callback) {
      rewriteVar(node, "statement");
      for (const declarator of node.declarations) {
        if (declarator.init) callback(declarator.init, state);
      }
    },
    ForStatement(node, state, callback) {
      if (node.init) visitLoopHead(node.init, "for-init", callback);
      if (node.test) callback(node.test, state);
      if (node.update) callback(node.update, state);
      callback(node.body, state);
    },
    ForInStatement(node, state, callback) {
      visitLoopHead(node.left, "for-left", callback);
      callback(node.right, state);
      callback(node.body, state);
    },
    ForOfStatement(node, state, callback) {
      visitLoopHead(node.left, "for-left", callback);
      callback(node.right, state);
      callback(node.body, state);
    },
  };
  const visitNested = (node: Node): void => recursive(node as AnyNode, undefined, nestedVars, base);

  const body = program.body as Statement[];
  body.forEach((statement, position) => {
    switch (statement.type) {
      case "VariableDeclaration": {
        if (statement.kind !== "var" && statement.kind !== "let" && statement.kind !== "const") {
          // `using` declarations: leave them to V8, which reports what it does not support.
          visitNested(statement);
          return;
        }
        for (const declarator of statement.declarations) bindingNames(declarator.id, names);
        declarationAsAssignments(code, statement, "statement", edits);
        for (const declarator of statement.declarations) {
          if (declarator.init) visitNested(declarator.init);
        }
        return;
      }
      case "ClassDeclaration": {
        const name = statement.id.name;
        names.push(name);
        edits.push({ start: statement.start, end: statement.start, text: `${name} = ` });
        edits.push({ start: statement.end, end: statement.end, text: ";" });
        return;
      }
      case "FunctionDeclaration":
        functionNames.push(statement.id.name);
        return;
      case "ExpressionStatement":
        if (position === body.length - 1 && !isQuietCall(statement.expression)) {
          // The statement's range, not the expression's: acorn leaves the parentheses of
          // `({ a: 1 })` outside the expression.
          const end = code[statement.end - 1] === ";" ? statement.end - 1 : statement.end;
          edits.push({ start: statement.start, end: statement.start, text: "return (" });
          edits.push({ start: end, end, text: ")" });
          visitNested(statement);
          return;
        }
        visitNested(statement);
        return;
      default:
        visitNested(statement);
    }
  });

  const displaysLastValue = edits.some((edit) => edit.text === "return (");
  const rewritten = applyEdits(code, edits);
  const declaredNames = [...new Set(names)];
  const hoisted = declaredNames.length > 0 ? `var ${declaredNames.join(", ")}; ` : "";
  // `this` in the arrow is the global object (indirect eval), and unlike `globalThis` the
  // model's code cannot rebind it.
  const exports = functionNames.map((name) => `this.${name} = ${name}; `).join("");
  return {
    source: `${hoisted}(async () => {${exports}${rewritten}\n})()`,
    declaredNames: [...new Set([...declaredNames, ...functionNames])],
    displaysLastValue,
  };
}

function applyEdits(code: string, edits: Edit[]): string {
  // Stable sort by position keeps insertions at the same offset in the order made.
  const ordered = edits
    .map((edit, order) => ({ edit, order }))
    .sort((a, b) => a.edit.start - b.edit.start || a.order - b.order);
  let result = "";
  let cursor = 0;
  for (const { edit } of ordered) {
    result += code.slice(cursor, edit.start) + edit.text;
    cursor = Math.max(cursor, edit.end);
  }
  return result + code.slice(cursor);
}
