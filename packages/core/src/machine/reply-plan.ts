import type { OtherFence, ParsedResponse } from "../parse-response.js";
import {
  FINAL_MENTIONED_NOTE,
  FINAL_WITH_CODE_NOTE,
  missingVariableNote,
  NO_CODE_NOTE,
  OTHER_FENCE_NOTE,
} from "../prompts.js";
import { pythonHint } from "../python-hints.js";
import type { RlmResult } from "../result.js";
import type { TurnFeedback } from "./turn-feedback.js";

/** Where the machine is. Each `step()` moves it by one transition. */
export type Phase =
  | { name: "start" }
  | { name: "root_call" }
  | { name: "cells"; blocks: string[]; next: number; feedback: TurnFeedback }
  | { name: "final_prompt" }
  | { name: "done"; result: RlmResult };

/** What a root turn's reply leads to. */
export type ReplyPlan =
  /** Code blocks to run, and notes to give with their output. */
  | { kind: "cells"; blocks: string[]; notes: string[] }
  /** A text `FINAL(answer)` in a reply without code. */
  | { kind: "answer"; answer: string }
  /** A text `FINAL_VAR(name)` in a reply without code. */
  | { kind: "variable"; name: string; missingNote: (defined: string[]) => string }
  /** Nothing to run and no answer: the model is told why. */
  | { kind: "note"; note: string };

/**
 * Reads a reply the way the REPL contract says (docs/architecture.md, README): tagged code blocks run; a
 * text FINAL counts only in a reply with no code block at all and only where it begins a
 * line; anything else is told back to the model, so it knows nothing ran.
 */
export function planReply(parsed: ParsedResponse): ReplyPlan {
  if (parsed.codeBlocks.length > 0) {
    // Code and a FINAL in one reply: the model has not seen the output yet.
    return {
      kind: "cells",
      blocks: parsed.codeBlocks,
      notes: parsed.finalDirective ? [FINAL_WITH_CODE_NOTE] : [],
    };
  }
  if (parsed.otherFences.length > 0) {
    // Code in a fence that does not run (untagged, python…): the reply is not one
    // without code, so a FINAL in its text is not taken.
    const hint = pythonFenceHint(parsed.otherFences);
    return { kind: "note", note: hint ? `${OTHER_FENCE_NOTE}\n${hint}` : OTHER_FENCE_NOTE };
  }
  const directive = parsed.finalDirective;
  if (directive?.kind === "FINAL") return { kind: "answer", answer: directive.answer };
  if (directive?.kind === "FINAL_VAR") {
    return {
      kind: "variable",
      name: directive.name,
      missingNote: (defined) => missingVariableNote(directive.name, defined),
    };
  }
  return { kind: "note", note: parsed.finalMentioned ? FINAL_MENTIONED_NOTE : NO_CODE_NOTE };
}

/** The Python hint for the first fence that is (or looks like) Python. */
function pythonFenceHint(fences: OtherFence[]): string | undefined {
  for (const fence of fences) {
    const tagged = fence.language === "python" || fence.language === "py";
    const hint = pythonHint(fence.code);
    if (hint) return hint;
    if (tagged)
      return "This REPL runs JavaScript, not Python: write the code in JavaScript in a ```repl block.";
  }
  return undefined;
}
