import { FINAL_ANSWER_PROMPT, FINAL_WITH_CODE_NOTE, NO_CODE_NOTE } from "@rlm/core";

const LABELLED = /^(?:total|count|overview|answer|result|first hit)\s*:\s*(.+)$/i;

/**
 * The best answer a model could give from what it has seen: the value of the last
 * labelled line ("total: 42", "first hit: …", "overview: …") of the most recent REPL
 * output, else that output's last line, else "unknown".
 */
export function bestAnswer(feedback: readonly string[]): string {
  for (let i = feedback.length - 1; i >= 0; i -= 1) {
    const lines = printedLines(feedback[i] ?? "");
    if (lines.length === 0) continue;
    for (let j = lines.length - 1; j >= 0; j -= 1) {
      const value = LABELLED.exec(lines[j] ?? "")?.[1]?.trim();
      if (value) return value;
    }
    return lines[lines.length - 1] ?? "unknown";
  }
  return "unknown";
}

/** A text-only reply ending the analysis with `answer`. */
export function finalReply(answer: string): string {
  return `FINAL(${answer})`;
}

/** Lines of a feedback message that the code printed (headers and notes removed). */
function printedLines(message: string): string[] {
  return message
    .split("\n")
    .map((line) => line.trim())
    .filter(
      (line) =>
        line.length > 0 &&
        !/^Output( of block \d+)?:$/.test(line) &&
        !/^Iteration \d+ of \d+/.test(line) &&
        !/^Error: /.test(line) &&
        line !== "(nothing was printed)" &&
        line !== NO_CODE_NOTE &&
        line !== FINAL_WITH_CODE_NOTE &&
        line !== FINAL_ANSWER_PROMPT,
    );
}
