import { codeReply, literal, type ScriptInput } from "./script-input.js";
import { PEEK_PRINTS, SPLIT_FUNCTION, TEXT_DECLARATION } from "./snippets.js";

/** The question each map-reduce chunk is asked. */
export function chunkCountQuestion(term: string): string {
  return `How many times does "${term}" appear in this text? Answer with the number only.`;
}

/**
 * map-reduce: look at the context, split it into chunks at line boundaries, ask a
 * sub-call per chunk in parallel for the count, sum into a top-level `total`, then
 * answer `FINAL_VAR(total)` in a reply without code.
 */
export function mapReduceScript(input: ScriptInput): string[] {
  const fanOut = `${SPLIT_FUNCTION}
const chunks = splitIntoChunks(text, ${input.chunkChars});
const answers = await Promise.all(chunks.map((c) => recursiveLm(${literal(chunkCountQuestion(input.term))}, c)));
const total = answers.reduce((sum, answer) => sum + (Number.parseInt(String(answer).replace(/[^0-9-]/g, ""), 10) || 0), 0);
print("chunks:", chunks.length);
print("per chunk:", answers.map((answer) => String(answer).trim()).join(", "));
print("total:", total);`;
  return [
    codeReply(
      "First I look at the size and the start of the context.",
      `${TEXT_DECLARATION}\n${PEEK_PRINTS}`,
    ),
    codeReply(
      "The context is large: I count per chunk with parallel sub-calls and add the counts.",
      fanOut,
    ),
    "The total printed above is the sum over all chunks.\n\nFINAL_VAR(total)",
  ];
}
