// Figure 3: the first root prompt (system + first user message) as the engine builds it
// for contexts of 1 KB … 100 MB. A capturing model client answers FINAL at once, so the
// real engine path runs (describeContext, rootUserPrompt) without a sandbox or HTTP.
import type { ModelClient, ModelRequest } from "@rlm/core";
import { estimateTokens } from "@rlm/llm";
import { Rlm } from "rlm-queue";
import { type BenchContext, type FigureResult, fmt, MOCK_MODELS } from "./support/bench-context.js";
import { largeDocument } from "./support/documents.js";

const SIZES: Array<[string, number]> = [
  ["1 KB", 1_000],
  ["1 MB", 1_000_000],
  ["10 MB", 10_000_000],
  ["100 MB", 100_000_000],
];
const GOAL_TOKENS = 2_000;

export async function runPromptSize(_bench: BenchContext): Promise<FigureResult> {
  const base = largeDocument(100_000_000).text;
  const measured: Array<{ label: string; chars: number; promptChars: number; tokens: number }> = [];
  for (const [label, chars] of SIZES) {
    const context = base.slice(0, chars);
    let first: ModelRequest | undefined;
    const model: ModelClient = {
      async complete(request) {
        first ??= request;
        return {
          content: "FINAL(done)",
          model: request.model,
          usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: null },
          durationMs: 0,
        };
      },
    };
    await new Rlm({ modelClient: model, ...MOCK_MODELS }).completion(
      'How many times does "INC-7731" appear?',
      context,
    );
    const text = (first?.messages ?? []).map((message) => message.content).join("\n");
    measured.push({ label, chars, promptChars: text.length, tokens: estimateTokens(text) });
  }
  const smallest = measured[0]?.tokens ?? Number.NaN;
  const largest = Math.max(...measured.map((entry) => entry.tokens));
  const rows: FigureResult["rows"] = measured.map((entry) => ({
    figure: "3 prompt size",
    metric: `first root prompt tokens, ${entry.label} context (${entry.promptChars} chars)`,
    value: String(entry.tokens),
    goal: `< ${GOAL_TOKENS}`,
    pass: entry.tokens < GOAL_TOKENS,
  }));
  rows.push({
    figure: "3 prompt size",
    metric: "flatness: tokens at 100 MB / tokens at 1 KB",
    value: fmt(largest / smallest),
    goal: "≈ 1 (flat)",
    pass: largest / smallest < 1.25,
  });
  return { rows, data: { tokenizer: "estimateTokens (chars / 4, @rlm/llm)", measured } };
}
