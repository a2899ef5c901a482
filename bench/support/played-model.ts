import type { ModelClient, ModelRequest } from "@rlm/core";
import { respond, type StrategyName } from "@rlm/mock-llm";

/** One call the played model answered: its kind and when it arrived (performance.now()). */
export interface PlayedCall {
  kind: "root" | "final" | "sub";
  at: number;
}

/**
 * The mock's scripted model (`respond`, the same replies as the mock server gives) as a
 * model client in this process, answering after `latencyMs`: no HTTP and no mock process.
 * Figure 1 runs it to show what the engine alone gives against the ideal schedule.
 */
export function playedModel(options: {
  strategy: StrategyName;
  chunkChars: number;
}): ModelClient & { latencyMs: number; calls: PlayedCall[] } {
  const client = {
    latencyMs: 0,
    calls: [] as PlayedCall[],
    async complete(request: ModelRequest) {
      const arrived = performance.now();
      const messages = request.messages.map(({ role, content }) => ({ role, content }));
      const reply = respond(messages, { ...options, habits: [] });
      client.calls.push({ kind: reply.kind, at: arrived });
      const wait = client.latencyMs - (performance.now() - arrived);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return {
        content: reply.content,
        model: request.model,
        usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
        durationMs: Math.round(performance.now() - arrived),
      };
    },
  };
  return client;
}
