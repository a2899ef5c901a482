/** What the engine takes from one model reply. */
export interface ParsedResponse {
  /** Code blocks tagged js, javascript or repl, in order. */
  codeBlocks: string[];
  /** A FINAL(...) / FINAL_VAR(...) directive found in the text outside code blocks. */
  finalDirective?: { kind: "FINAL"; answer: string } | { kind: "FINAL_VAR"; name: string };
  /**
   * The inside (trimmed) of each fenced block that does not run: untagged, or tagged
   * another language (python, text…). A reply with any fence is not one "without code",
   * so its text FINAL is not taken.
   */
  otherFences: string[];
  /** The reply outside every fence (and outside any thinking), trimmed. */
  prose: string;
}

const CODE_BLOCK = /```(?:js|javascript|repl)[^\S\r\n]*\r?\n([\s\S]*?)```/gi;
const ANY_FENCE = /```[\s\S]*?(?:```|$)/g;
/** A fence's opening line (its tag) and its inside. */
const FENCE_PARTS = /^```(\w*)[^\n]*\n?([\s\S]*?)(?:```)?$/;
/** The tags of CODE_BLOCK: the fences whose blocks run. */
const RUNNABLE_TAG = /^(?:js|javascript|repl)$/i;
const FINAL_VAR_DIRECTIVE = /(?:^|[^\w.])FINAL_VAR\(\s*["'`]?([A-Za-z_$][\w$]*)["'`]?\s*\)/m;
const FINAL_DIRECTIVE = /(?:^|[^\w.])FINAL\(/m;

/** Reasoning models (DeepSeek-R1, QwQ via vLLM or Ollama) think aloud inside these. */
const THINKING = /<think>[\s\S]*?(?:<\/think>|$)/gi;

/** Splits a model reply into its code blocks and any text-level FINAL directive. */
export function parseResponse(reply: string): ParsedResponse {
  // Code or a FINAL drafted while thinking is not the answer: only the reply counts.
  const content = reply.replace(THINKING, "");
  const codeBlocks = [...content.matchAll(CODE_BLOCK)]
    .map((match) => (match[1] ?? "").trim())
    .filter((code) => code.length > 0);
  const otherFences: string[] = [];
  for (const fence of content.match(ANY_FENCE) ?? []) {
    const [, tag = "", inside = ""] = FENCE_PARTS.exec(fence) ?? [];
    if (!RUNNABLE_TAG.test(tag)) otherFences.push(inside.trim());
  }
  // Directives only count outside fences: FINAL inside code runs as code.
  const prose = content.replace(ANY_FENCE, "");
  const finalDirective = findDirective(prose);
  const parsed = { codeBlocks, otherFences, prose: prose.trim() };
  return finalDirective ? { ...parsed, finalDirective } : parsed;
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
