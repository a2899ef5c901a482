/** A fenced block of a reply that does not run. */
export interface OtherFence {
  /** The fence's tag, lower-cased: `python`, `json`, "" when untagged… */
  language: string;
  /** The inside of the fence, trimmed. */
  code: string;
}

/** What the engine takes from one model reply. */
export interface ParsedResponse {
  /** Code blocks tagged js, javascript or repl, in order. */
  codeBlocks: string[];
  /**
   * A FINAL(...) / FINAL_VAR(...) directive: one that begins a line (leading blanks
   * allowed) of the text outside code blocks.
   */
  finalDirective?: { kind: "FINAL"; answer: string } | { kind: "FINAL_VAR"; name: string };
  /**
   * True when the text outside code blocks mentions `FINAL(` or `FINAL_VAR(` where it is
   * not a directive (inside a sentence: "…and report it with FINAL(day)").
   */
  finalMentioned: boolean;
  /**
   * Each fenced block that does not run: untagged, or tagged another language (python,
   * text…). A reply with any fence is not one "without code", so its text FINAL is not
   * taken.
   */
  otherFences: OtherFence[];
  /** The reply outside every fence (and outside any thinking), trimmed. */
  prose: string;
}

/** The tags of the fences whose blocks run. */
const RUNNABLE_TAG = /^(?:js|javascript|repl)$/i;
/** A line that opens a fence: three or more backticks, then the tag (no backtick after). */
const FENCE_OPEN = /^[ \t]*(`{3,})[ \t]*([^`\s]*)[^`]*$/;
/** A line that is only a fence (blanks allowed): it may close an open fence. */
const FENCE_ONLY = /^[ \t]*(`{3,})[ \t]*$/;
/** A directive begins a line, after blanks at most (as the reference implementation reads). */
const FINAL_VAR_DIRECTIVE = /^[ \t]*FINAL_VAR\(\s*["'`]?([A-Za-z_$][\w$]*)["'`]?\s*\)/m;
const FINAL_DIRECTIVE = /^[ \t]*FINAL\(/m;
/** FINAL written anywhere: a mention unless it is a directive. */
const FINAL_ANYWHERE = /(?:^|[^\w.$])FINAL(?:_VAR)?\(/g;

/** Reasoning models (DeepSeek-R1, QwQ via vLLM or Ollama) think aloud inside these. */
const THINKING = /<think>[\s\S]*?(?:<\/think>|$)/gi;

interface Fence {
  language: string;
  code: string;
}

/**
 * Splits a model reply into its code blocks and any text-level FINAL directive.
 *
 * A fence opens at a line that starts with three or more backticks and closes only at a
 * line that is nothing but at least as many backticks: code that holds ``` in a string
 * (`l.startsWith("```")`, a regex that strips ```json from a sub-model's reply) is not cut
 * in the middle. A fence never closed runs to the end of the reply.
 */
export function parseResponse(reply: string): ParsedResponse {
  // Code or a FINAL drafted while thinking is not the answer: only the reply counts.
  const content = reply.replace(THINKING, "").replace(/\r\n?/g, "\n");
  const { fences, prose } = splitFences(content);
  const codeBlocks: string[] = [];
  const otherFences: OtherFence[] = [];
  for (const fence of fences) {
    if (RUNNABLE_TAG.test(fence.language)) {
      if (fence.code.length > 0) codeBlocks.push(fence.code);
    } else {
      otherFences.push({ language: fence.language.toLowerCase(), code: fence.code });
    }
  }
  const finalDirective = findDirective(prose);
  const mentions = prose.match(FINAL_ANYWHERE)?.length ?? 0;
  const parsed = {
    codeBlocks,
    otherFences,
    prose: prose.trim(),
    finalMentioned: mentions > (finalDirective ? 1 : 0),
  };
  return finalDirective ? { ...parsed, finalDirective } : parsed;
}

/** The reply's fenced blocks, and its text outside them (fence lines dropped). */
function splitFences(content: string): { fences: Fence[]; prose: string } {
  const fences: Fence[] = [];
  const proseLines: string[] = [];
  let open: { ticks: number; language: string; lines: string[] } | undefined;
  for (const line of content.split("\n")) {
    if (open) {
      const only = FENCE_ONLY.exec(line);
      if (only && (only[1]?.length ?? 0) >= open.ticks) {
        fences.push({ language: open.language, code: open.lines.join("\n").trim() });
        open = undefined;
      } else {
        open.lines.push(line);
      }
      continue;
    }
    const opening = FENCE_OPEN.exec(line);
    if (opening) {
      open = { ticks: opening[1]?.length ?? 3, language: opening[2] ?? "", lines: [] };
    } else {
      proseLines.push(line);
    }
  }
  if (open) fences.push({ language: open.language, code: open.lines.join("\n").trim() });
  return { fences, prose: proseLines.join("\n") };
}

function findDirective(prose: string): ParsedResponse["finalDirective"] {
  const variable = FINAL_VAR_DIRECTIVE.exec(prose);
  const final = FINAL_DIRECTIVE.exec(prose);
  if (variable && (!final || variable.index <= final.index)) {
    return { kind: "FINAL_VAR", name: variable[1] ?? "" };
  }
  if (!final) return undefined;
  const start = final.index + final[0].length;
  const end = closingParenthesis(prose, start);
  if (end < 0) return { kind: "FINAL", answer: unquote(prose.slice(start).trim()) };
  return { kind: "FINAL", answer: unquote(prose.slice(start, end).trim()) };
}

/**
 * Index of the `)` that closes the `(` before `start`, skipping nested parentheses and
 * quoted strings; -1 when it never closes. Text after the directive is not the answer.
 */
function closingParenthesis(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (quote) {
      if (char === "\\") index += 1;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "`") quote = char;
    else if (char === "(") depth += 1;
    else if (char === ")") {
      if (depth === 0) return index;
      depth -= 1;
    }
  }
  return -1;
}

/** `FINAL("text")` means the text, not the quotes. */
function unquote(answer: string): string {
  const first = answer[0];
  const last = answer[answer.length - 1];
  if (answer.length >= 2 && first === last && (first === '"' || first === "'" || first === "`")) {
    if (first === '"') {
      try {
        const parsed: unknown = JSON.parse(answer);
        if (typeof parsed === "string") return parsed;
      } catch {
        // not valid JSON: fall through to stripping the quotes
      }
    }
    return answer.slice(1, -1);
  }
  return answer;
}
