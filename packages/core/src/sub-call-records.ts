import type { SubCallRecord } from "./journal.js";
import type { ModelResponse, TokenUsage } from "./model.js";
import type { RlmResult } from "./result.js";

/** What identifies a sub-call in its record, whoever carried it out. */
export interface SubCallIdentity {
  argumentsHash: string;
  query: string;
  contextChars: number;
}

/** Usage of a call that made no model call (failed before, or cancelled). */
export const NO_USAGE: Readonly<TokenUsage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  costUsd: null,
});

/** The record of a plain sub-call answered by one model call. */
export function answeredSubCall(
  identity: SubCallIdentity,
  response: ModelResponse,
  durationMs: number,
): SubCallRecord {
  return {
    kind: "sub",
    ...identity,
    answer: response.content,
    usage: response.usage,
    byModel: { [response.model]: response.usage },
    calls: 1,
    durationMs,
    startedAt: Date.now() - durationMs,
    ...retried([response]),
  };
}

/**
 * The record of a plain sub-call from all the model calls it took (one, or more when a
 * typed answer needed a retry): its answer, or the error the code sees, with their usage.
 */
export function completedSubCall(
  identity: SubCallIdentity,
  completion: {
    content?: string;
    error?: { code: string; message: string };
    responses: ModelResponse[];
  },
  durationMs: number,
): SubCallRecord {
  const byModel: Record<string, TokenUsage> = {};
  for (const response of completion.responses) {
    byModel[response.model] = addUsage(byModel[response.model] ?? { ...NO_USAGE }, response.usage);
  }
  const usage = Object.values(byModel).reduce(addUsage, { ...NO_USAGE });
  return {
    kind: "sub",
    ...identity,
    ...(completion.error
      ? { error: { code: completion.error.code, message: completion.error.message } }
      : { answer: completion.content ?? "" }),
    usage,
    byModel,
    calls: completion.responses.length,
    durationMs,
    startedAt: Date.now() - durationMs,
    ...retried(completion.responses),
  };
}

/** `attempts` of a record: the most any of its model calls took, when one was retried. */
function retried(responses: readonly ModelResponse[]): { attempts?: number } {
  const attempts = Math.max(1, ...responses.map((response) => response.attempts ?? 1));
  return attempts > 1 ? { attempts } : {};
}

function addUsage(total: TokenUsage, usage: TokenUsage): TokenUsage {
  return {
    inputTokens: total.inputTokens + usage.inputTokens,
    outputTokens: total.outputTokens + usage.outputTokens,
    cachedInputTokens: total.cachedInputTokens + usage.cachedInputTokens,
    costUsd:
      total.costUsd === null && usage.costUsd === null
        ? null
        : (total.costUsd ?? 0) + (usage.costUsd ?? 0),
  };
}

/** The record of a sub-call that failed: the code sees `code: message` as a thrown Error. */
export function failedSubCall(
  identity: SubCallIdentity,
  error: { code: string; message: string; attempts?: number },
  durationMs = 0,
): SubCallRecord {
  return {
    kind: "sub",
    ...identity,
    error: { code: error.code, message: error.message },
    usage: { ...NO_USAGE },
    byModel: {},
    calls: 0,
    durationMs,
    startedAt: Date.now() - durationMs,
    // A model client's error says how many attempts it made before giving up.
    ...(error.attempts !== undefined && error.attempts > 1 ? { attempts: error.attempts } : {}),
  };
}

/**
 * The record of a sub-call carried out as a nested analysis: its answer (or its error),
 * with the usage and model calls of the whole nested analysis.
 */
export function nestedSubCall(
  identity: SubCallIdentity,
  result: RlmResult,
  durationMs: number,
): SubCallRecord {
  const { byModel, ...usage } = result.usage;
  return {
    kind: "sub",
    ...identity,
    ...(result.finishReason === "error"
      ? {
          error: {
            code: result.error?.code ?? "nested_failed",
            message: result.error?.message ?? "the nested analysis failed",
          },
        }
      : { answer: result.answer }),
    usage,
    byModel,
    calls: result.totalCalls,
    durationMs,
    startedAt: Date.now() - durationMs,
  };
}
