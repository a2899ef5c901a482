import type { StrategyName } from "../options.js";
import { escapeRegExp } from "../term.js";
import { codeReply, literal, type ScriptInput } from "./script-input.js";
import { HEADING_PATTERN, TEXT_EXPRESSION } from "./snippets.js";

/** The variable a recovery cell declares; the turn number keeps it unique. */
export function recoveryVariable(turn: number): string {
  return `fallback${turn}`;
}

/** Finds the recovery variable a reply declared, if it was a recovery cell. */
export function recoveryVariableIn(reply: string): string | undefined {
  return /^const (fallback\d+) = /m.exec(reply)?.[1];
}

/**
 * After an error: one self-contained cell (a single new top-level name, no sub-calls,
 * no reliance on earlier declarations) that computes a simpler answer in plain code and
 * prints it — an exact count, the first matching line, or the list of headings.
 */
export function recoveryReply(strategy: StrategyName, input: ScriptInput, turn: number): string {
  const name = recoveryVariable(turn);
  const source = literal(escapeRegExp(input.term));
  let body: string;
  if (strategy === "peek-grep" || strategy === "map-reduce") {
    body = `const pattern = new RegExp(${source}, "g");
  let found = 0;
  while (pattern.exec(source) !== null) found += 1;
  return found;`;
  } else if (strategy === "needle") {
    body = `const match = new RegExp(${source}, "i").exec(source);
  if (match === null) return "not found";
  const newline = source.indexOf("\\n", match.index);
  return source.slice(source.lastIndexOf("\\n", match.index) + 1, newline === -1 ? source.length : newline).trim();`;
  } else {
    body = `const titles = [];
  for (const match of source.matchAll(${HEADING_PATTERN})) titles.push(match[0].trim());
  return titles.length > 0 ? "Sections: " + titles.join("; ") : source.slice(0, 200);`;
  }
  const code = `const ${name} = (() => {
  const source = ${TEXT_EXPRESSION};
  ${body}
})();
print("answer:", ${name});`;
  return codeReply("That failed. I compute a simpler answer directly, without sub-calls.", code);
}
