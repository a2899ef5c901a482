import type { AnalysisResult, AnalysisView } from "./api-types.js";
import { ClientErrorCode, RlmApiError } from "./errors.js";

// How the client reads the API's answers: network failures, documented successes, and
// the outcome of an ended analysis.

/** `since` as the API takes it: ISO 8601 or epoch ms. */
export function sinceParam(since: Date | string | number): string {
  return since instanceof Date ? since.toISOString() : String(since);
}

/** The outcome of an ended analysis: its result, or the error it ended with. */
export function settled(view: AnalysisView): AnalysisResult {
  if (view.status === "completed" && view.result) return view.result;
  if (view.status === "cancelled") {
    throw new RlmApiError(ClientErrorCode.cancelled, `analysis ${view.id} was cancelled`, {
      retryable: false,
      analysisId: view.id,
    });
  }
  const error = view.error ?? view.result?.error;
  throw new RlmApiError(
    ClientErrorCode.analysisFailed,
    error?.message ?? `analysis ${view.id} ended ${view.status} without a result`,
    { retryable: error?.retryable ?? false, analysisId: view.id },
  );
}

/** An openapi-fetch call with network failures as `RlmApiError`s. */
export async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (cause) {
    if (cause instanceof Error && cause.name === "AbortError") throw cause;
    throw RlmApiError.network(cause);
  }
}

/** The data of a documented success, or the error of anything else. */
export function expect<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  if (result.response.ok) {
    throw new RlmApiError(ClientErrorCode.unexpectedResponse, "the answer has no body", {
      status: result.response.status,
      retryable: false,
    });
  }
  throw RlmApiError.fromResponse(result.response, result.error);
}
