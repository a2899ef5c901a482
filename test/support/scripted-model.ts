import type { ModelClient, ModelRequest, ModelResponse } from "@rlm/core";

/**
 * A scriptable model for engine tests (in the spirit of the AI SDK's mock models): the
 * test decides each reply from the request. Not an HTTP mock: provider behaviour is
 * tested against the mock LLM server over real HTTP elsewhere.
 */
export class ScriptedModel implements ModelClient {
  readonly requests: ModelRequest[] = [];

  constructor(
    private readonly reply: (request: ModelRequest, index: number) => string | Promise<string>,
  ) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const index = this.requests.length;
    this.requests.push(request);
    const content = await this.reply(request, index);
    const inputChars = request.messages.reduce((sum, message) => sum + message.content.length, 0);
    return {
      content,
      model: request.model,
      usage: {
        inputTokens: Math.ceil(inputChars / 4),
        outputTokens: Math.ceil(content.length / 4),
        cachedInputTokens: 0,
        costUsd: null,
      },
      durationMs: 1,
    };
  }
}

/** True for a root conversation (as opposed to a plain sub-call). */
export function isRoot(request: ModelRequest): boolean {
  return request.messages[0]?.content.includes("recursiveLm") ?? false;
}

/** The root turn a request is for: 1 + the assistant messages so far. */
export function turnOf(request: ModelRequest): number {
  return 1 + request.messages.filter((message) => message.role === "assistant").length;
}

export function queryOf(request: ModelRequest): string {
  const first = request.messages[1]?.content ?? "";
  return /<query>\n([\s\S]*?)\n<\/query>/.exec(first)?.[1] ?? "";
}

export const repl = (code: string) => `\`\`\`repl\n${code}\n\`\`\``;
