import type { ModelClient, ModelRequest } from "@rlm/core";

/**
 * A root model for the resume figure: `iterations` turns of code, each reading a slice of
 * the context and making one sub-call, then FINAL. Sub-call conversations (no
 * `recursiveLm` in the system prompt) get a short answer. Optional fixed latency.
 */
export function scriptedRootModel(
  iterations: number,
  latencyMs = 0,
): ModelClient & { calls: number } {
  const client = {
    calls: 0,
    async complete(request: ModelRequest) {
      client.calls += 1;
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const isRoot = request.messages[0]?.content.includes("recursiveLm") ?? false;
      const turn = 1 + request.messages.filter((message) => message.role === "assistant").length;
      let content = "12";
      if (isRoot) {
        content =
          turn <= iterations
            ? [
                "```repl",
                `const part${turn} = context.slice(${turn * 10_000}, ${turn * 10_000 + 20_000});`,
                `const answer${turn} = await recursiveLm("How many lines are in this text?", part${turn});`,
                `print("turn ${turn}:", answer${turn}, part${turn}.length);`,
                "```",
              ].join("\n")
            : "FINAL(done)";
      }
      return {
        content,
        model: request.model,
        usage: { inputTokens: 10, outputTokens: 10, cachedInputTokens: 0, costUsd: null },
        durationMs: latencyMs,
      };
    },
  };
  return client;
}
