import { escapeRegExp } from "../term.js";
import { codeReply, literal, type ScriptInput } from "./script-input.js";
import { PEEK_PRINTS, TEXT_DECLARATION } from "./snippets.js";

/**
 * needle: look at the context, collect the lines mentioning the term (case-insensitive)
 * into a top-level `hits` — lines that state it ("X is …", "X: …", "X = …") first — then
 * finish in code with `FINAL(hits[0] ?? "not found")`.
 */
export function needleScript(input: ScriptInput): string[] {
  const source = literal(escapeRegExp(input.term));
  const search = `const needle = ${literal(input.term)};
const lineHits = [];
{
  const pattern = new RegExp(${source}, "gi");
  for (let match = pattern.exec(text); match !== null && lineHits.length < 1000; match = pattern.exec(text)) {
    const lineStart = text.lastIndexOf("\\n", match.index) + 1;
    const newline = text.indexOf("\\n", match.index);
    const lineEnd = newline === -1 ? text.length : newline;
    lineHits.push(text.slice(lineStart, lineEnd).trim());
    // One hit per line: continue after this line.
    pattern.lastIndex = Math.max(lineEnd, match.index + 1);
  }
}
const statesIt = new RegExp(${source} + "[^\\\\n]{0,40}?(?:\\\\bis\\\\b|\\\\bwas\\\\b|\\\\bare\\\\b|:|=)", "i");
const hits = lineHits.filter((line) => statesIt.test(line)).concat(lineHits.filter((line) => !statesIt.test(line)));
print("matching lines:", hits.length);
print("first hit:", hits[0] ?? "none");
for (const line of hits.slice(0, 5)) print("-", line.slice(0, 200));`;
  return [
    codeReply(
      "First I look at the size and the start of the context.",
      `${TEXT_DECLARATION}\n${PEEK_PRINTS}`,
    ),
    codeReply(`Now I search for the lines that mention ${literal(input.term)}.`, search),
    codeReply("The first line above states it.", 'FINAL(hits[0] ?? "not found");'),
  ];
}
