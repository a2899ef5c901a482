import vm from "node:vm";
import {
  type ChatMessage,
  describeContext,
  FINAL_ANSWER_PROMPT,
  NO_CODE_NOTE,
  type RlmContext,
  ROOT_SYSTEM_PROMPT,
  replFeedbackPrompt,
  rootUserPrompt,
  subCallMessages,
} from "@rlm/core";
import { chat, codeBlocks } from "./http.js";

/**
 * A deliberately small stand-in for the real engine, so the mock's scripts can be run
 * end to end in this package's tests: the same prompts (from @rlm/core), a node:vm REPL
 * (not a security boundary; tests only) whose top-level declarations persist because
 * column-0 `const`/`let`/`function` are rewritten to globals.
 */
export interface MiniRunOptions {
  url: string;
  query: string;
  context: RlmContext;
  maxIterations?: number;
  maxDepth?: number;
  depth?: number;
}

export interface MiniRunResult {
  answer: string | undefined;
  finishReason: "final" | "max_iterations";
  replies: string[];
  outputs: string[];
}

export async function runMiniRlm(options: MiniRunOptions): Promise<MiniRunResult> {
  const maxIterations = options.maxIterations ?? 6;
  const depth = options.depth ?? 0;
  const maxDepth = options.maxDepth ?? 1;
  const replies: string[] = [];
  const outputs: string[] = [];
  let final: string | undefined;
  let printed: string[] = [];

  const sandbox = vm.createContext({
    context: structuredClone(options.context),
    print: (...values: unknown[]) => printed.push(values.map(String).join(" ")),
    console: { log: (...values: unknown[]) => printed.push(values.map(String).join(" ")) },
    recursiveLm: async (query: string, sub?: unknown) => {
      if (depth + 1 < maxDepth) {
        const nested = await runMiniRlm({
          ...options,
          query,
          context: (sub ?? "") as RlmContext,
          depth: depth + 1,
        });
        return nested.answer ?? "";
      }
      const text =
        sub === undefined ? undefined : typeof sub === "string" ? sub : JSON.stringify(sub);
      return chat(options.url, "mock-sub", subCallMessages(query, text));
    },
    FINAL: (answer: unknown) => {
      final = String(answer);
    },
    FINAL_VAR: (name: unknown) => {
      final = readVariable(String(name));
    },
  });
  const readVariable = (name: string): string | undefined => {
    const value = (sandbox as Record<string, unknown>)[name];
    if (value === undefined) return undefined;
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  const runCell = async (code: string): Promise<{ output: string; error?: string }> => {
    printed = [];
    const globalised = code
      .replace(/^(?:const|let) ([A-Za-z_$][\w$]*) =/gm, "globalThis.$1 =")
      .replace(/^function ([A-Za-z_$][\w$]*)\(/gm, "globalThis.$1 = function $1(");
    try {
      await vm.runInContext(`(async () => {\n${globalised}\n})()`, sandbox);
      return { output: printed.join("\n") };
    } catch (error) {
      return {
        output: printed.join("\n"),
        error: error instanceof Error ? error.message : String(error),
      };
    }
  };

  const description = describeContext(options.context, 600);
  const messages: ChatMessage[] = [
    { role: "system", content: ROOT_SYSTEM_PROMPT },
    {
      role: "user",
      content: rootUserPrompt(options.query, description, { number: 1, max: maxIterations, depth }),
    },
  ];
  for (let iteration = 1; iteration <= maxIterations; iteration += 1) {
    const reply = await chat(options.url, "mock-root", messages);
    replies.push(reply);
    messages.push({ role: "assistant", content: reply });
    const blocks = codeBlocks(reply);
    if (blocks.length === 0) {
      const directive = textDirective(reply, readVariable);
      if (directive !== undefined)
        return { answer: directive, finishReason: "final", replies, outputs };
      messages.push({ role: "user", content: NO_CODE_NOTE });
      continue;
    }
    const results = [];
    for (const block of blocks) {
      const result = await runCell(block);
      results.push(result);
      outputs.push(result.error ? `${result.output}\nError: ${result.error}` : result.output);
      if (final !== undefined) return { answer: final, finishReason: "final", replies, outputs };
    }
    messages.push({
      role: "user",
      content: replFeedbackPrompt(results, { number: iteration + 1, max: maxIterations, depth }),
    });
  }
  messages.push({ role: "user", content: FINAL_ANSWER_PROMPT });
  const last = await chat(options.url, "mock-root", messages);
  replies.push(last);
  return {
    answer: textDirective(last, readVariable),
    finishReason: "max_iterations",
    replies,
    outputs,
  };
}

function textDirective(
  reply: string,
  readVariable: (name: string) => string | undefined,
): string | undefined {
  const variable = /^FINAL_VAR\(\s*"?([\w$]+)"?\s*\)/m.exec(reply);
  if (variable?.[1]) return readVariable(variable[1]);
  const answer = /^FINAL\(([\s\S]*)\)\s*$/m.exec(reply);
  return answer?.[1];
}
