import type { ChatMessage } from "@rlm/core";

/** The parsed body of a non-streaming completion. */
export interface CompletionJson {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string };
    finish_reason: string;
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** POSTs a chat completion and returns the raw response. */
export function postChat(
  url: string,
  body: Record<string, unknown>,
  init: { signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer anything" },
    body: JSON.stringify(body),
    ...init,
  });
}

/** Asks for one completion and returns its text; throws on a non-200 answer. */
export async function chat(url: string, model: string, messages: ChatMessage[]): Promise<string> {
  const response = await postChat(url, { model, messages });
  if (response.status !== 200)
    throw new Error(`status ${response.status}: ${await response.text()}`);
  const json = (await response.json()) as CompletionJson;
  return json.choices[0]?.message.content ?? "";
}

/** The contents of the fenced code blocks of a reply. */
export function codeBlocks(reply: string): string[] {
  return [...reply.matchAll(/```(?:repl|js|javascript)\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

/** Throws a SyntaxError unless `code` compiles as the body of an async function. */
export function compileCell(code: string): void {
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => unknown;
  new AsyncFunction("context", "print", "console", "recursiveLm", "FINAL", "FINAL_VAR", code);
}
