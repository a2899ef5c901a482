import { codeReply, literal, type ScriptInput } from "./script-input.js";
import { HEADING_PATTERN, PEEK_PRINTS, SPLIT_FUNCTION, TEXT_DECLARATION } from "./snippets.js";

/** The question each section is asked. */
export const SECTION_QUESTION = "Summarize this section in one sentence. Start with its title.";
/** The question of the reduce step. */
export const COMBINE_QUESTION =
  "Combine these section summaries into one overview that names every section.";

/**
 * summarize (hierarchical): look at the context and its headings, split it into
 * sections at the headings (fixed chunks when there are fewer than two), summarize the
 * sections in parallel, combine the summaries into a top-level `overview`, then finish in
 * code with `FINAL_VAR("overview")`. With a single section there is nothing to combine:
 * the query itself goes to one sub-call (so a nested analysis of one section, or of a
 * list of summaries, answers its own question).
 */
export function summarizeScript(input: ScriptInput): string[] {
  const peek = `${TEXT_DECLARATION}
${PEEK_PRINTS}
const headingPattern = ${HEADING_PATTERN};
const headings = [];
for (const match of text.matchAll(headingPattern)) headings.push({ index: match.index, title: match[0].trim() });
print("headings:", headings.length);
for (const heading of headings.slice(0, 20)) print("-", heading.title.slice(0, 120));`;
  const mapReduce = `${SPLIT_FUNCTION}
const sections = [];
if (headings.length >= 2) {
  const preamble = text.slice(0, headings[0].index);
  if (preamble.trim().length > 0) sections.push(preamble.trim());
  headings.forEach((heading, i) => {
    const end = i + 1 < headings.length ? headings[i + 1].index : text.length;
    sections.push(text.slice(heading.index, end).trim());
  });
} else {
  for (const chunk of splitIntoChunks(text, ${input.chunkChars})) sections.push(chunk);
}
const summaries = sections.length > 1 ? await Promise.all(sections.map((section) => recursiveLm(${literal(SECTION_QUESTION)}, section))) : [];
const overview = sections.length > 1
  ? await recursiveLm(${literal(COMBINE_QUESTION)}, summaries.map((summary) => String(summary).replace(/\\s+/g, " ").trim()).join("\\n"))
  : await recursiveLm(${literal(input.query)}, sections[0] ?? text);
print("sections:", sections.length);
for (const summary of summaries.slice(0, 20)) print("-", String(summary).slice(0, 200));
print("overview:", overview);`;
  return [
    codeReply("First I look at the size, the start and the headings of the context.", peek),
    codeReply("I summarize each section in parallel, then combine the summaries.", mapReduce),
    codeReply("The overview above names every section.", 'FINAL_VAR("overview");'),
  ];
}
