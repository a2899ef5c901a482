import type { RootConversation } from "./conversation.js";
import { bestAnswer, finalReply } from "./final-answer.js";
import type { StrategyName, StrategySetting } from "./options.js";
import { mapReduceScript } from "./scripts/map-reduce.js";
import { needleScript } from "./scripts/needle.js";
import { peekGrepScript } from "./scripts/peek-grep.js";
import { recoveryReply, recoveryVariableIn } from "./scripts/recovery.js";
import type { ScriptInput } from "./scripts/script-input.js";
import { summarizeScript } from "./scripts/summarize.js";
import type { HabitName } from "./habits/habit.js";
import { habitsNamed } from "./habits/habits.js";
import { typedFinalReply, typedFinalText } from "./habits/typed-final.js";
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

/** The settings a root turn is played with. */
export interface RootPlaySettings {
  strategy: StrategySetting;
  chunkChars: number;
  /** Habits of real models to play (none by default). */
  habits?: readonly HabitName[];
}

/**
 * Plays one root turn. Pure: the reply depends only on the conversation and settings.
 * - the engine's final-answer request, or a script that has run out: `FINAL(best answer)`;
 * - a habit's mistake in the last reply: made again, unless the feedback said what was
 *   wrong (then the script goes on where the mistake was);
 * - an error in the last output: one recovery cell, then `FINAL_VAR` of its result (or
 *   `FINAL(best answer)` if that failed too);
 * - otherwise turn N of the strategy's script (mistakes not counted), in the habits' forms.
 */
export function planRootReply(
  conversation: RootConversation,
  settings: RootPlaySettings,
): RootReply {
  const strategy = chooseStrategy(
    settings.strategy,
    conversation.query,
    conversation.totalChars,
    settings.chunkChars,
  );
  const habitNames = settings.habits ?? [];
  const habits = habitsNamed(habitNames);
  const schema = conversation.outputSchema;
  const untypedFirst = habitNames.includes("untyped-final");
  const finish = (step: string): RootReply => {
    const answer = bestAnswer(conversation.feedback);
    return {
      content: schema ? typedFinalText(answer, schema) : finalReply(answer),
      strategy,
      step,
    };
  };
  if (conversation.kind === "final") return finish("final");

  const replies = conversation.assistantReplies;
  const previous = replies[replies.length - 1];
  const lastFeedback = conversation.feedback[conversation.feedback.length - 1] ?? "";
  const mistakes = habits.filter((habit) => habit.kind === "mistake");
  const madeMistakes = replies.filter((reply) => mistakes.some((habit) => habit.madeIn(reply)));
  const typedRefusals = conversation.feedback.filter((text) =>
    /FINAL answer was not taken/.test(text),
  );
  // The script's turn: replies that were mistakes (or refused untyped answers) do not count.
  const turn = conversation.turn - madeMistakes.length - typedRefusals.length;
  const lastMistake =
    previous === undefined ? undefined : mistakes.find((habit) => habit.madeIn(previous));
  if (lastMistake && !lastMistake.recoveredBy(lastFeedback)) {
    // Nothing in the feedback says what was wrong: the model tries the same again.
    return { content: previous!, strategy, step: `${lastMistake.name}-again` };
  }

  const failed = lastMistake === undefined && /^Error: /m.test(lastFeedback);
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
  const intended = strategyScript(strategy, input)[turn - 1];
  if (intended === undefined) return finish("final");
  const context = {
    turn,
    query: conversation.query,
    ...(conversation.session ? { session: conversation.session } : {}),
  };
  let reply = intended;
  for (const habit of habits) {
    if (habit.kind === "style") reply = habit.rewrite(reply, context) ?? reply;
  }
  for (const habit of mistakes) {
    if (replies.some((earlier) => habit.madeIn(earlier))) continue;
    const wrong = habit.rewrite(reply, context);
    if (wrong !== undefined) return { content: wrong, strategy, step: `${habit.name}` };
  }
  // An analysis that asked for JSON: the final reply builds it (after one plain answer,
  // refused, for a model with the untyped-final habit).
  if (schema && !(untypedFirst && typedRefusals.length === 0)) {
    const typed = typedFinalReply(reply, schema);
    if (typed !== undefined) return { content: typed, strategy, step: `turn-${turn}-typed` };
  }
  return { content: reply, strategy, step: `turn-${turn}` };
}
