import type { ModelClient, ModelRequest, ModelResponse } from "@rlm/core";
import type { RetryInfo } from "@rlm/llm";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/** Which calls a client makes: root turns or sub-calls. */
export type ModelRole = "root" | "sub";

/** Where a model call's figures go (the worker's metrics). */
export interface ModelCallMetrics {
  called(
    role: ModelRole,
    model: string,
    outcome: { response: ModelResponse } | { code: string },
    seconds: number,
  ): void;
  retried(role: ModelRole, model: string, code: string): void;
}

const tracer = trace.getTracer("rlm-cli");

/**
 * `client` with each call counted in `metrics` (by model, role and outcome: `ok` or the
 * error's code) and made in a client span (`chat <model>`, OpenTelemetry's `gen_ai.*`
 * attributes: model, tokens, cost, attempts), a child of whatever span is active: the
 * root turn's, or the sub-call's.
 */
export function observedModelClient(
  client: ModelClient,
  role: ModelRole,
  metrics: ModelCallMetrics | undefined,
  serverAddress: string,
): ModelClient {
  const complete = async (request: ModelRequest): Promise<ModelResponse> => {
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    const parent = context.active();
    const span = tracer.startSpan(
      `chat ${request.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": request.model,
          "server.address": serverAddress,
          "rlm.model.role": role,
          ...(request.analysisId === undefined ? {} : { "rlm.analysis.id": request.analysisId }),
        },
      },
      parent,
    );
    try {
      const response = await context.with(trace.setSpan(parent, span), () =>
        client.complete(request),
      );
      metrics?.called(role, request.model, { response }, seconds());
      if (span.isRecording()) {
        span.setAttributes({
          "gen_ai.response.model": response.model,
          "gen_ai.usage.input_tokens": response.usage.inputTokens,
          "gen_ai.usage.output_tokens": response.usage.outputTokens,
          "gen_ai.usage.cache_read.input_tokens": response.usage.cachedInputTokens,
          ...(response.usage.costUsd === null ? {} : { "rlm.cost_usd": response.usage.costUsd }),
          "rlm.attempts": response.attempts ?? 1,
        });
      }
      return response;
    } catch (error) {
      const code = codeOf(error);
      metrics?.called(role, request.model, { code }, seconds());
      span.setAttribute("error.type", code);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  };
  return {
    complete,
    ...(client.honoursGate === undefined ? {} : { honoursGate: client.honoursGate }),
    ...(client.reportsSent === undefined ? {} : { reportsSent: client.reportsSent }),
  };
}

/**
 * The `onRetry` part of observing: the retry counted, and an event on the call's span
 * (active while the client waits to try again).
 */
export function observeRetries(
  role: ModelRole,
  metrics: ModelCallMetrics | undefined,
): (retry: RetryInfo) => void {
  return ({ attempt, delayMs, error }) => {
    metrics?.retried(role, error.model, error.code);
    trace.getActiveSpan()?.addEvent("retry", {
      "rlm.attempt": attempt,
      "rlm.retry.delay_ms": delayMs,
      "error.type": error.code,
      ...(error.status === undefined ? {} : { "http.response.status_code": error.status }),
    });
  };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "internal_error";
}
