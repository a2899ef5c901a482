import type { ModelClient, ModelRequest, ModelResponse } from "@rlm/core";
import { BarePoster } from "./bare-client.js";

/** The fields of a chat completion this client reads. */
interface Completion {
  model: string;
  choices: Array<{ message: { content: string } }>;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/**
 * A {@link ModelClient} of plain node:http: the bare client's sender ({@link BarePoster})
 * behind the engine's interface, holding the run's gate from the request's write to its
 * answer as the product's client does. No SDK, no retries, no streaming: what the engine
 * costs an analysis without the openai SDK (figure 1's floor, diagnostics/sdk-cost.ts).
 */
export function plainModelClient(baseURL: string): ModelClient & { close(): void } {
  const poster = new BarePoster(baseURL);
  return {
    honoursGate: true,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const body = JSON.stringify({
        model: request.model,
        messages: request.messages.map(({ role, content }) => ({ role, content })),
      });
      const release = request.gate ? await request.gate.acquire(request.signal) : undefined;
      let answer: Completion;
      try {
        answer = (await poster.post(body)) as Completion;
      } finally {
        release?.();
      }
      return {
        content: answer.choices[0]!.message.content,
        model: answer.model,
        usage: {
          inputTokens: answer.usage?.prompt_tokens ?? 0,
          outputTokens: answer.usage?.completion_tokens ?? 0,
          cachedInputTokens: 0,
          costUsd: null,
        },
        durationMs: 0,
      };
    },
    close: () => poster.close(),
  };
}
