import type { RetryInfo } from "@rlm/llm";
import type { Logger } from "pino";

/**
 * The `onRetry` of a worker's model clients: each retried model call is one `warn` line
 * saying which analysis, which model, which attempt failed, why (the error's code, the
 * HTTP status and the provider's own code when there is one) and how long it waits.
 * Never the request or the provider's message: either may quote the document.
 */
export function logModelRetries(logger: Logger): (retry: RetryInfo) => void {
  return ({ analysisId, attempt, delayMs, error }) => {
    logger.warn(
      {
        analysisId,
        model: error.model,
        attempt,
        code: error.code,
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.providerCode === undefined ? {} : { providerCode: error.providerCode }),
        delayMs,
      },
      `model call retried: attempt ${attempt} failed (${error.code}), next in ${delayMs} ms`,
    );
  };
}
