import type { RootConversation } from "./conversation.js";
import { bestAnswer, finalReply } from "./final-answer.js";
import type { StrategyName, StrategySetting } from "./options.js";
import { mapReduceScript } from "./scripts/map-reduce.js";
import { needleScript } from "./scripts/needle.js";
import { peekGrepScript } from "./scripts/peek-grep.js";
import { recoveryReply, recoveryVariableIn } from "./scripts/recovery.js";
import type { ScriptInput } from "./scripts/script-input.js";
import { summarizeScript } from "./scripts/summarize.js";
import { chooseStrategy } from "./strategy.js";
import { extractTerm } from "./term.js";

/** What the mock replies to a root conversation, and why. */
export interface RootReply {
  content: string;
  strategy: StrategyName;
  /** Which step produced the reply: `turn-N`, `recovery`, `after-recovery` or `final`. */
  step: string;
}

/** The full script of a strategy: the reply of turn N is element N - 1. */
export function strategyScript(strategy: StrategyName, input: ScriptInput): string[] {
  switch (strategy) {
    case "peek-grep":
      return peekGrepScript(input);
    case "needle":
      return needleScript(input);
    case "map-reduce":
      return mapReduceScript(input);
    case "summarize":
      return summarizeScript(input);
  }
}

/**
 * Plays one root turn. Pure: the reply depends only on the conversation and settings.
 * - the engine's final-answer request, or a script that has run out: `FINAL(best answer)`;
 * - an error in the last output: one recovery cell, then `FINAL_VAR` of its result (or
 *   `FINAL(best answer)` if that failed too);
 * - otherwise turn N of the strategy's script.
 */
export function planRootReply(
  conversation: RootConversation,
  settings: { strategy: StrategySetting; chunkChars: number },
): RootReply {
  const strategy = chooseStrategy(
    settings.strategy,
    conversation.query,
    conversation.totalChars,
    settings.chunkChars,
  );
  const finish = (step: string): RootReply => ({
    content: finalReply(bestAnswer(conversation.feedback)),
    strategy,
    step,
  });
  if (conversation.kind === "final") return finish("final");

  const lastFeedback = conversation.feedback[conversation.feedback.length - 1];
  const failed = lastFeedback !== undefined && /^Error: /m.test(lastFeedback);
  const previous = conversation.assistantReplies[conversation.assistantReplies.length - 1];
  const recovered = previous === undefined ? undefined : recoveryVariableIn(previous);
  if (recovered !== undefined) {
    if (failed) return finish("after-recovery");
    return { content: `FINAL_VAR(${recovered})`, strategy, step: "after-recovery" };
  }

  const input: ScriptInput = {
    query: conversation.query,
    term: extractTerm(conversation.query),
    chunkChars: settings.chunkChars,
  };
  if (failed) {
    return {
      content: recoveryReply(strategy, input, conversation.turn),
      strategy,
      step: "recovery",
    };
  }
  const reply = strategyScript(strategy, input)[conversation.turn - 1];
  if (reply === undefined) return finish("final");
  return { content: reply, strategy, step: `turn-${conversation.turn}` };
}
