import { groupDigits } from "@rlm/core";
import { extractTerm } from "./term.js";

/**
 * Answers a plain sub-call from its text alone, the way the sub-model is asked to:
 * - "how many times does "X"" (or any count question with a quoted term): the exact,
 *   case-sensitive, non-overlapping number of occurrences, number only;
 * - "combine"/"overview": "Overview of N sections: A; B; C." naming every title given
 *   (one summary per line, title before the first ": ");
 * - "summarize": "<title>: <first sentence of the body>", title = the section's heading;
 * - a quoted term: the first line containing it, else "NOT FOUND";
 * - otherwise a short sentence that mentions the text's length.
 */
export function answerSubCall(question: string, text: string): string {
  const q = question.toLowerCase();
  const quoted = /"([^"\n]+)"/.exec(question)?.[1];
  if (quoted !== undefined && (q.includes("how many") || /\bcount/.test(q))) {
    return String(countOccurrences(text, quoted));
  }
  if (q.includes("combine") || q.includes("overview")) return combineSummaries(text);
  if (q.includes("summar")) return summarizeSection(text);
  if (quoted !== undefined) return firstLineContaining(text, quoted) ?? "NOT FOUND";
  if (q.includes("how many") || /\bcount/.test(q)) {
    return String(countOccurrences(text, extractTerm(question)));
  }
  return `The text has ${groupDigits(text.length)} characters; it does not say more about that.`;
}

/** Non-overlapping, case-sensitive occurrences of `term` in `text`. */
export function countOccurrences(text: string, term: string): number {
  if (term.length === 0) return 0;
  let count = 0;
  for (let at = text.indexOf(term); at !== -1; at = text.indexOf(term, at + term.length)) {
    count += 1;
  }
  return count;
}

/** "<title>: <first sentence>", where the title is the first line without heading marks. */
export function summarizeSection(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return "Empty: the section has no text.";
  const newline = trimmed.indexOf("\n");
  const firstLine = (newline === -1 ? trimmed : trimmed.slice(0, newline)).trim();
  const title = firstLine
    .replace(/^#{1,6}\s+/, "")
    .trim()
    .slice(0, 120);
  const body = newline === -1 ? "" : trimmed.slice(newline + 1);
  return `${title}: ${firstSentence(body) ?? "(no body text)"}`;
}

/** "Overview of N sections: A; B; C." from one "<title>: <summary>" per line. */
export function combineSummaries(text: string): string {
  const titles = text
    .split("\n")
    .map((line) => line.trim().replace(/^[-*]\s+/, ""))
    .filter((line) => line.length > 0)
    .map(titleOfSummary);
  if (titles.length === 0) return "Overview of 0 sections: nothing to combine.";
  const noun = titles.length === 1 ? "section" : "sections";
  return `Overview of ${titles.length} ${noun}: ${titles.join("; ")}.`;
}

function titleOfSummary(line: string): string {
  const colon = line.indexOf(": ");
  if (colon === -1) return line.slice(0, 80);
  let end = colon;
  // "SECTION 3: Results: …" — the heading itself has a colon; keep its name.
  if (/^SECTION\s+\d+$/i.test(line.slice(0, colon))) {
    const next = line.indexOf(": ", colon + 2);
    if (next !== -1) end = next;
  }
  return line.slice(0, end).trim();
}

function firstSentence(body: string): string | undefined {
  const flat = body.replace(/\s+/g, " ").trim();
  if (flat.length === 0) return undefined;
  const end = /[.!?](?=\s|$)/.exec(flat);
  const sentence = end ? flat.slice(0, end.index + 1) : flat;
  return sentence.length > 240 ? `${sentence.slice(0, 237)}...` : sentence;
}

function firstLineContaining(text: string, term: string): string | undefined {
  let at = text.indexOf(term);
  if (at === -1) at = text.toLowerCase().indexOf(term.toLowerCase());
  if (at === -1) return undefined;
  const start = text.lastIndexOf("\n", at) + 1;
  const end = text.indexOf("\n", at);
  return text.slice(start, end === -1 ? text.length : end).trim();
}
