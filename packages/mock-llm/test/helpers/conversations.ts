import {
  type ChatMessage,
  describeContext,
  type RlmContext,
  ROOT_SYSTEM_PROMPT,
  replFeedbackPrompt,
  rootUserPrompt,
} from "@rlm/core";

/** One earlier turn: what the model said and what its code printed. */
export interface Turn {
  reply: string;
  output: string;
  error?: string;
}

/** A root conversation as the engine builds it, after the given turns. */
export function rootConversation(
  query: string,
  context: RlmContext,
  turns: Turn[] = [],
): ChatMessage[] {
  const max = 10;
  const messages: ChatMessage[] = [
    { role: "system", content: ROOT_SYSTEM_PROMPT },
    {
      role: "user",
      content: rootUserPrompt(query, describeContext(context, 600), { number: 1, max, depth: 0 }),
    },
  ];
  turns.forEach((turn, index) => {
    messages.push({ role: "assistant", content: turn.reply });
    const block =
      turn.error === undefined
        ? { output: turn.output }
        : { output: turn.output, error: turn.error };
    messages.push({
      role: "user",
      content: replFeedbackPrompt([block], { number: index + 2, max, depth: 0 }),
    });
  });
  return messages;
}

/** A text of `lines` log lines where `term` appears on every `every`-th line. */
export function logText(
  lines: number,
  term: string,
  every: number,
): { text: string; count: number } {
  const out: string[] = [];
  let count = 0;
  for (let i = 0; i < lines; i += 1) {
    if (i % every === 0) {
      out.push(
        `2024-01-01T00:00:${String(i % 60).padStart(2, "0")} worker-${i % 7} failed with ${term} (retry ${i})`,
      );
      count += 1;
    } else {
      out.push(
        `2024-01-01T00:00:${String(i % 60).padStart(2, "0")} worker-${i % 7} ok request ${i}`,
      );
    }
  }
  return { text: out.join("\n"), count };
}

/** A Markdown report with the given section titles. */
export function report(titles: string[]): string {
  return [
    "Quarterly report prepared by the operations team.",
    "",
    ...titles.flatMap((title, i) => [
      `## ${title}`,
      `This section covers ${title.toLowerCase()} in detail. It has more text after the first sentence.`,
      `Line ${i} of filler text that is not important.`,
      "",
    ]),
  ].join("\n");
}
