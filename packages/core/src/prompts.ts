import type { ContextDescription } from "./describe-context.js";
import { groupDigits } from "./group-digits.js";
import type { RlmBudgets } from "./options.js";
import type { ChatMessage } from "./model.js";
import type { JsonObject } from "./context.js";

/**
 * The root model's system prompt: it teaches the JavaScript REPL. Kept short on purpose:
 * the first root prompt must stay under 2,000 tokens whatever the context size.
 */
export const ROOT_SYSTEM_PROMPT = `You answer a query about a document that is too large to read at once. The document is loaded in a persistent JavaScript REPL as the variable \`context\`. You cannot see it except through code you write.

Write JavaScript in fenced blocks tagged \`repl\` (or \`js\`). Each block runs in the REPL and you are shown only what it prints. In the REPL you have:
- \`context\`: the document (a string, an array of strings, or a JSON object).
- \`print(...values)\` / \`console.log(...)\`: the only way to see results. Long output is truncated, so print summaries, counts and short excerpts, not whole chunks.
- \`await recursiveLm(query, subContext)\`: asks a sub-model \`query\` about \`subContext\` (a string up to ~100,000 characters works well) and returns its answer as a string. Run many at once with \`await Promise.all(chunks.map(c => recursiveLm(q, c)))\`; they execute in parallel. A failed sub-call throws; catch it if you can go on without it.
- \`FINAL(answer)\`: ends the analysis with \`answer\`. \`FINAL_VAR(name)\`: ends it with the value of the variable named \`name\`.
- \`llm_query(prompt)\` and \`llm_query_batched(prompts)\` (the names from the RLM paper) work too: \`recursiveLm(prompt)\`, and \`Promise.all\` over it. \`recursiveLm(q, text, { schema })\` returns a parsed object matching a JSON Schema.
Top-level \`const\`, \`let\` and \`function\` declarations persist across blocks and turns, and top-level \`await\` works. There is no \`require\`, \`import\`, \`fetch\`, \`process\` or timers.

How to work:
1. Explore first: print the size, the structure and a few samples before deciding anything. Do not answer on your first turn.
2. Use code for exact work (counting, searching with regular expressions, parsing) and \`recursiveLm\` for what needs reading and judgement. Split large text into chunks (by sections, lines or characters) and fan sub-calls out with \`Promise.all\`, in batches of about 20.
3. Combine the partial results in code, check them, then finish with \`FINAL(...)\` or \`FINAL_VAR(...)\` in a code block once you have seen the output that supports your answer.
Never invent the output of code you have not run. If you write \`FINAL\` outside code, do it in a reply that contains no code block, at the start of a line.`;

/** The sub-model's system prompt for a plain (non-recursive) sub-call. */
export const SUB_SYSTEM_PROMPT =
  "You answer a question about a piece of text. Use only that text. Answer concisely; when asked for a number, answer with the number only.";

/** What a sub-model asked for typed JSON is told (whether or not the provider enforces it). */
export function jsonAnswerInstruction(schema: JsonObject): string {
  return `Answer with JSON only: one value matching this JSON Schema, no prose and no code fence.\n${JSON.stringify(schema)}`;
}

/** Marks around the query and the text in prompts, so any reader can find them. */
export const QUERY_OPEN = "<query>";
export const QUERY_CLOSE = "</query>";
export const TEXT_OPEN = "<text>";
export const TEXT_CLOSE = "</text>";

/** The first user message of a root conversation. */
export function rootUserPrompt(
  query: string,
  description: ContextDescription,
  iteration: { number: number; max: number; depth: number },
  budgets: RlmBudgets = {},
  outputSchema?: JsonObject,
  session?: { question: number; variables: readonly string[] },
): string {
  const lines = [
    `${QUERY_OPEN}\n${query}\n${QUERY_CLOSE}`,
    "",
    "The context:",
    `- type: ${description.type}`,
    `- total length: ${groupDigits(description.totalChars)} characters`,
  ];
  if (description.items) {
    const items = description.items;
    lines.push(
      `- items: ${groupDigits(items.count)} (lengths ${items.minChars}–${items.maxChars}; first: ${items.firstLengths.join(", ")})`,
    );
  }
  if (description.keys) lines.push(`- top-level keys: ${description.keys.join(", ")}`);
  lines.push("", `Head of the context:\n"""\n${description.head}\n"""`);
  if (description.tail) lines.push(`Tail of the context:\n"""\n${description.tail}\n"""`);
  if (session) lines.push("", sessionNote(session.question, session.variables));
  lines.push("", iterationNote(iteration.number, iteration.max, iteration.depth));
  const limits = budgetNote(budgets);
  if (limits) lines.push(limits);
  if (outputSchema) lines.push(outputSchemaNote(outputSchema));
  lines.push("Start by exploring the context with code. Do not answer yet.");
  return lines.join("\n");
}

/** The user message that carries a turn's REPL output back to the root model. */
export function replFeedbackPrompt(
  blocks: Array<{ output: string; error?: string; unawaitedSubCalls?: number }>,
  iteration: { number: number; max: number; depth: number },
  note?: string,
): string {
  const parts = blocks.map((block, index) => {
    const header = blocks.length > 1 ? `Output of block ${index + 1}:` : "Output:";
    const body = block.output.length > 0 ? block.output : "(nothing was printed)";
    const text = block.error ? `${header}\n${body}\nError: ${block.error}` : `${header}\n${body}`;
    return block.unawaitedSubCalls ? `${text}\n${unawaitedNote(block.unawaitedSubCalls)}` : text;
  });
  if (note) parts.push(note);
  parts.push(iterationNote(iteration.number, iteration.max, iteration.depth));
  return parts.join("\n\n");
}

/** What a later question of a session starts from. */
function sessionNote(question: number, variables: readonly string[]): string {
  const names = variables.filter((name) => name !== "history");
  const kept =
    names.length > 0
      ? ` The variables they defined are still there: ${names.slice(0, 40).join(", ")}${names.length > 40 ? ", …" : ""}.`
      : "";
  return `This is question ${question} of a session over the same context. \`history\` holds the earlier questions and their answers ({ query, answer }).${kept}`;
}

/** The typed answer the analysis must end with. */
function outputSchemaNote(schema: JsonObject): string {
  return `The final answer must be JSON matching this JSON Schema; call FINAL with the object (or its JSON text):\n${JSON.stringify(schema)}`;
}

/** Said when a FINAL's value does not match the analysis's output schema. */
export function outputSchemaMismatchNote(problems: string): string {
  return `Your FINAL answer was not taken: ${problems}\nFix the value and call FINAL again.`;
}

/** Said when a reply without code mentions FINAL inside a sentence. */
export const FINAL_MENTIONED_NOTE =
  "Nothing ran and no answer was taken: your reply had no code block, and FINAL(...) appeared inside your text rather than at the start of a line. To continue, write JavaScript in a ```repl block; to answer, put FINAL(answer) at the start of its own line in a reply without code, or call FINAL(...) in code.";

/** Said when text `FINAL_VAR(name)` names no variable. */
export function missingVariableNote(name: string, defined: readonly string[]): string {
  const known =
    defined.length > 0
      ? `The variables defined are: ${defined.slice(0, 30).join(", ")}${defined.length > 30 ? ", …" : ""}.`
      : "No variables are defined yet.";
  return `FINAL_VAR(${name}): no variable named ${name} is defined in the REPL. ${known} Define it with code first, or answer with FINAL(...).`;
}

/** Said after a cell that ended with sub-calls still pending (a forgotten `await`). */
export function unawaitedNote(count: number): string {
  const calls = count === 1 ? "1 recursiveLm call was" : `${count} recursiveLm calls were`;
  return `Note: ${calls} still pending when the block ended (not awaited). They ran to the end and were paid for, but the block did not use their results. Await them, e.g. \`const answers = await Promise.all(calls)\`; calling again with the same arguments returns the same answers without new model calls.`;
}

/** Said when the model answered with neither code nor a FINAL. */
export const NO_CODE_NOTE =
  "Your reply had no code block. Write JavaScript in a ```repl block to continue, or answer with FINAL(...) in a reply without code.";

/** Said when a reply's only code was in fences that do not run (untagged, another language). */
export const OTHER_FENCE_NOTE =
  "Your reply had a code block that did not run: only blocks tagged ```repl (or ```js) run in the REPL, so nothing ran and any FINAL in the reply was not taken. Write JavaScript in a ```repl block, or answer with FINAL(...) in a reply without code blocks.";

/** Said when a reply had code and a FINAL in its text: the FINAL is not taken. */
export const FINAL_WITH_CODE_NOTE =
  "Your reply contained code and a FINAL in its text. The code ran (output above) but the FINAL was not taken, because you had not seen the output yet. Check the output, then finish with FINAL(...) or FINAL_VAR(...).";

/** The last call at the iteration limit: one request for the best answer. */
export const FINAL_ANSWER_PROMPT =
  "You have used every iteration. Reply now with your best final answer as FINAL(answer), based only on what you have seen. Do not write code.";

/** The budgets the model should plan within (the analysis stops when one runs out). */
function budgetNote(budgets: RlmBudgets): string | undefined {
  const parts: string[] = [];
  if (budgets.maxSubCalls !== undefined) parts.push(`${budgets.maxSubCalls} recursiveLm calls`);
  if (budgets.maxTokens !== undefined) parts.push(`${groupDigits(budgets.maxTokens)} tokens`);
  if (budgets.maxCostUsd !== undefined) parts.push(`$${budgets.maxCostUsd}`);
  if (budgets.deadlineMs !== undefined) parts.push(`${Math.round(budgets.deadlineMs / 1000)} s`);
  return parts.length > 0
    ? `Budget for the whole analysis: at most ${parts.join(", ")}.`
    : undefined;
}

function iterationNote(number: number, max: number, depth: number): string {
  const depthNote = depth > 0 ? ` (nested analysis at depth ${depth})` : "";
  return `Iteration ${number} of ${max}${depthNote}.`;
}

/**
 * The messages of a plain sub-call: the question, then the text between marks. The user
 * message also carries its pieces (`contentParts`), so a client can send a large chunk
 * without flattening the prompt into a copy of it.
 */
export function subCallMessages(
  query: string,
  text: string | undefined,
  schema?: JsonObject,
): ChatMessage[] {
  const system: ChatMessage = {
    role: "system",
    content: schema ? `${SUB_SYSTEM_PROMPT}\n${jsonAnswerInstruction(schema)}` : SUB_SYSTEM_PROMPT,
  };
  if (text === undefined || text.length === 0) return [system, { role: "user", content: query }];
  const head = `${query}\n\n${TEXT_OPEN}\n`;
  const tail = `\n${TEXT_CLOSE}`;
  // Concatenation, not join(): V8 makes a rope that shares the chunk's memory.
  return [system, { role: "user", content: head + text + tail, contentParts: [head, text, tail] }];
}
