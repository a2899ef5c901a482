// The worker's metrics, fed what a worker feeds them: a real model client over HTTP to
// the mock LLM (with faults) wrapped as `rlm worker` wraps it, and the observations
// `startRlmWorker` makes, read back from the registry's Prometheus text.
import { createOpenAIModelClient } from "@rlm/llm";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sample } from "../../api/test/metrics-text.js";
import { observedModelClient, observeRetries } from "../src/observability/observed-model-client.js";
import { startMetricsServer } from "../src/observability/metrics-server.js";
import { WorkerMetrics } from "../src/observability/worker-metrics.js";

let mock: MockLlmServer;

beforeAll(async () => {
  mock = await startMockLlmServer({ strategy: "needle" });
});

afterAll(async () => {
  await mock?.stop();
});

function client(metrics: WorkerMetrics, role: "root" | "sub", maxAttempts: number) {
  const inner = createOpenAIModelClient({
    apiKey: "test-key",
    baseURL: mock.url,
    retry: { maxAttempts, baseDelayMs: 1 },
    onRetry: observeRetries(role, metrics.modelCalls),
  });
  return observedModelClient(inner, role, metrics.modelCalls, "127.0.0.1");
}

const ask = (model: string) => ({ model, messages: [{ role: "user" as const, content: "hi" }] });

describe("the worker's metrics", () => {
  it("count model calls by model, role and outcome, their tokens and cost, and the client's retries", async () => {
    const metrics = new WorkerMetrics();
    const sub = client(metrics, "sub", 2);
    const answered = await sub.complete(ask("gpt-4.1-nano"));
    mock.configure({ faults: { serverErrorRate: 1 } });
    await expect(sub.complete(ask("gpt-4.1-nano"))).rejects.toMatchObject({
      code: "provider_error",
    });
    mock.configure({ faults: { serverErrorRate: 0 } });
    const text = await metrics.registry.metrics();
    const nano = { model: "gpt-4.1-nano", role: "sub" };
    expect(sample(text, "rlm_model_calls_total", { ...nano, outcome: "ok" })).toBe(1);
    expect(sample(text, "rlm_model_calls_total", { ...nano, outcome: "provider_error" })).toBe(1);
    // Two attempts, the first tried again.
    expect(sample(text, "rlm_model_retries_total", { ...nano, code: "provider_error" })).toBe(1);
    expect(sample(text, "rlm_model_tokens_total", { ...nano, type: "input" })).toBe(
      answered.usage.inputTokens,
    );
    expect(sample(text, "rlm_model_tokens_total", { ...nano, type: "output" })).toBe(
      answered.usage.outputTokens,
    );
    expect(sample(text, "rlm_model_cost_usd_total", nano)).toBeCloseTo(answered.usage.costUsd!, 12);
    expect(sample(text, "rlm_model_call_duration_seconds_count", nano)).toBe(2);
  });

  it("count sub-calls by source, cells, lost isolates, tries and the analyses that ended", async () => {
    const metrics = new WorkerMetrics();
    const engine = (event: Parameters<typeof metrics.observe>[0]) => metrics.observe(event);
    const analysisId = "an_metrics";
    const end = { type: "subcall_end", depth: 0, id: "k", durationMs: 1 } as const;
    for (const event of [
      { ...end, replayed: false },
      { ...end, replayed: false, error: "boom" },
      { ...end, replayed: true },
      { ...end, replayed: false, sameAs: "k0" },
      { type: "cell_end", depth: 0, iteration: 1, block: 0, durationMs: 40 },
      {
        type: "cell_end",
        depth: 1,
        iteration: 2,
        block: 0,
        durationMs: 900,
        error: "x",
        sandboxLost: true,
      },
    ] as const) {
      engine({ type: "engine", analysisId, event });
    }
    engine({ type: "call_try", analysisId, model: "m", lane: "job", outcome: "rate_limited" });
    engine({
      type: "call_try",
      analysisId,
      model: "m",
      lane: "local",
      outcome: "failed",
      errorCode: "bad_request",
    });
    engine({
      type: "analysis_ended",
      analysisId,
      status: "completed",
      finishReason: "final",
      durationMs: 3_500,
      costUsd: 0.02,
    });
    const text = await metrics.registry.metrics();
    expect(sample(text, "rlm_sub_calls_total", { source: "executed", outcome: "ok" })).toBe(1);
    expect(sample(text, "rlm_sub_calls_total", { source: "executed", outcome: "error" })).toBe(1);
    expect(sample(text, "rlm_sub_calls_total", { source: "journal", outcome: "ok" })).toBe(1);
    expect(sample(text, "rlm_sub_calls_total", { source: "same_as", outcome: "ok" })).toBe(1);
    expect(sample(text, "rlm_cells_total", { outcome: "ok" })).toBe(1);
    expect(sample(text, "rlm_cells_total", { outcome: "error" })).toBe(1);
    expect(sample(text, "rlm_cell_duration_seconds_sum")).toBeCloseTo(0.94, 9);
    expect(sample(text, "rlm_sandboxes_lost_total")).toBe(1);
    const tries = "rlm_sub_call_tries_total";
    expect(sample(text, tries, { lane: "job", outcome: "rate_limited", code: "" })).toBe(1);
    expect(sample(text, tries, { lane: "local", outcome: "failed", code: "bad_request" })).toBe(1);
    const completed = { status: "completed", finish_reason: "final" };
    expect(sample(text, "rlm_analyses_finished_total", completed)).toBe(1);
    expect(
      sample(text, "rlm_analysis_duration_seconds_bucket", { le: "5", status: "completed" }),
    ).toBe(1);
    expect(
      sample(text, "rlm_analysis_duration_seconds_bucket", { le: "2", status: "completed" }),
    ).toBe(0);
    expect(sample(text, "rlm_analysis_cost_usd_sum", { status: "completed" })).toBe(0.02);
    // Without a worker attached, its run statistics read 0.
    expect(sample(text, "rlm_runs_rebuilt_total")).toBe(0);
  });

  it("serve the registry at GET /metrics and nothing else", async () => {
    const metrics = new WorkerMetrics();
    const server = await startMetricsServer(metrics.registry, 0, "127.0.0.1");
    try {
      const scraped = await fetch(server.url);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get("content-type")).toBe(metrics.registry.contentType);
      expect(sample(await scraped.text(), "rlm_sandboxes_lost_total")).toBe(0);
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
      expect((await fetch(server.url, { method: "POST" })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
