import type { RlmEvent, RlmResult } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { loadEnv } from "../src/env.js";
import { exitCodeFor } from "../src/exit-code.js";
import { ProgressReporter } from "../src/progress.js";
import { renderSummary, renderTrajectory } from "../src/render-result.js";
import { resolveRunSettings } from "../src/run-settings.js";

function result(overrides: Partial<RlmResult> = {}): RlmResult {
  return {
    answer: "61",
    finishReason: "final",
    iterations: 2,
    totalCalls: 9,
    replHistory: [
      {
        iteration: 1,
        code: "print(context.length)",
        output: Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n"),
        durationMs: 12,
        subCalls: 0,
      },
      {
        iteration: 2,
        code: "FINAL(x)",
        output: "",
        error: "ReferenceError: x",
        durationMs: 3,
        subCalls: 7,
      },
    ],
    messages: [],
    usage: {
      inputTokens: 12345,
      outputTokens: 678,
      cachedInputTokens: 0,
      costUsd: null,
      byModel: {},
    },
    durationMs: 4200,
    ...overrides,
  };
}

describe("result rendering", () => {
  it("shows code, trimmed output, sub-calls and errors per iteration", () => {
    const text = renderTrajectory(result());
    expect(text).toContain("── iteration 1");
    expect(text).toContain("── iteration 2");
    expect(text).toContain("print(context.length)");
    expect(text).toContain("line 5");
    expect(text).not.toContain("line 6");
    expect(text).toContain("… 14 more lines");
    expect(text).toContain("7 sub-calls");
    expect(text).toContain("error: ReferenceError: x");
  });

  it("summarises answer, finish reason, calls, tokens, unknown cost and duration", () => {
    const text = renderSummary(result());
    expect(text).toContain("  61");
    expect(text).toMatch(/finish reason\s+final/);
    expect(text).toMatch(/model calls\s+9/);
    expect(text).toMatch(/tokens\s+12,345 in · 678 out/);
    expect(text).toMatch(/cost\s+unknown/);
    expect(text).toMatch(/duration\s+4\.2 s/);
    const priced = renderSummary(result({ usage: { ...result().usage, costUsd: 0.5 } }));
    expect(priced).toMatch(/cost\s+\$0\.50/);
  });
});

describe("exit codes", () => {
  const error = (code: string) => ({ code, message: "m", retryable: false });
  it.each([
    ["final", undefined, 0],
    ["max_iterations", undefined, 0],
    ["budget", error("budget_exceeded"), 1],
    ["cancelled", error("cancelled"), 130],
    ["error", error("rate_limited"), 1],
    ["error", error("connection_failed"), 2],
    ["error", error("authentication_failed"), 2],
  ] as const)("%s (%o) → %i", (finishReason, err, code) => {
    expect(exitCodeFor(result({ finishReason, ...(err ? { error: err } : {}) }))).toBe(code);
  });
});

describe("env and flags", () => {
  it("treats empty variables as unset and coerces numbers", () => {
    const env = loadEnv({ OPENAI_BASE_URL: "", RLM_MAX_DEPTH: "2", OPENAI_API_KEY: "k" });
    expect(env.OPENAI_BASE_URL).toBeUndefined();
    expect(env.RLM_MAX_DEPTH).toBe(2);
    expect(env.LOG_LEVEL).toBe("warn");
  });

  it("rejects invalid values naming the variable but never its value", () => {
    expect(() => loadEnv({ RLM_SUB_CONCURRENCY: "lots", OPENAI_BASE_URL: "sk-secret" })).toThrow(
      /RLM_SUB_CONCURRENCY.*OPENAI_BASE_URL|OPENAI_BASE_URL.*RLM_SUB_CONCURRENCY/,
    );
    expect(() => loadEnv({ OPENAI_BASE_URL: "sk-secret" })).not.toThrow(/sk-secret/);
  });

  it("lets a flag win over its variable and requires a key", () => {
    const env = loadEnv({
      OPENAI_API_KEY: "env-key",
      RLM_MAX_ITERATIONS: "5",
      RLM_ROOT_MODEL: "a",
    });
    const settings = resolveRunSettings({ maxIterations: 3, apiKey: "flag-key" }, env);
    expect(settings).toMatchObject({ apiKey: "flag-key", maxIterations: 3, rootModel: "a" });
    expect(settings.baseURL).toBe("https://api.openai.com/v1");
    expect(() => resolveRunSettings({}, loadEnv({}))).toThrow(/OPENAI_API_KEY/);
  });
});

describe("progress", () => {
  it("prints compact iteration lines when not on a terminal, ignoring nested depths", () => {
    let written = "";
    const progress = new ProgressReporter({ write: (t: string) => (written += t), isTTY: false });
    const events: RlmEvent[] = [
      { type: "iteration_start", depth: 0, iteration: 1, maxIterations: 10 },
      { type: "subcall_start", depth: 0, id: "a", query: "q", contextChars: 5, replayed: false },
      { type: "subcall_start", depth: 0, id: "b", query: "q", contextChars: 5, replayed: false },
      { type: "iteration_start", depth: 1, iteration: 1, maxIterations: 10 },
      { type: "subcall_end", depth: 0, id: "a", durationMs: 1, replayed: false },
      { type: "subcall_end", depth: 0, id: "b", durationMs: 1, replayed: false, error: "boom" },
      {
        type: "iteration_end",
        depth: 0,
        iteration: 1,
        cells: 1,
        final: false,
        usage: result().usage,
      },
    ];
    for (const event of events) progress.onEvent(event);
    expect(written.split("\n").filter(Boolean)).toEqual([
      "[rlm] iteration 1/10",
      "[rlm] iteration 1 done · 1 cell · sub-calls 2/2 done (1 failed)",
    ]);
  });
});
