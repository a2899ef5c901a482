import { escapeRegExp } from "../term.js";
import { codeReply, literal, type ScriptInput } from "./script-input.js";
import { PEEK_PRINTS, TEXT_DECLARATION } from "./snippets.js";

/**
 * peek-grep: look at the context, count the term with a regular expression into a
 * top-level `count`, then answer `FINAL_VAR(count)` in a reply without code.
 */
export function peekGrepScript(input: ScriptInput): string[] {
  const count = `const term = ${literal(input.term)};
const count = (() => {
  const pattern = new RegExp(${literal(escapeRegExp(input.term))}, "g");
  let found = 0;
  while (pattern.exec(text) !== null) found += 1;
  return found;
})();
print("term:", JSON.stringify(term));
print("count:", count);`;
  return [
    codeReply(
      "First I look at the size and the start of the context.",
      `${TEXT_DECLARATION}\n${PEEK_PRINTS}`,
    ),
    codeReply("The text is small enough to count exactly with a regular expression.", count),
    "The count printed above is exact.\n\nFINAL_VAR(count)",
  ];
}
