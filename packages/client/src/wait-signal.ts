import { ClientErrorCode, RlmApiError } from "./errors.js";

/** The abort reason of a wait that ran out of time. */
const TIMED_OUT = Symbol("timed out");

/**
 * One signal for a wait: aborted by the caller's signal or after `timeoutMs`. `dispose`
 * clears the timer and the listener (call it when the wait ends).
 */
export function waitSignal(options: { timeoutMs?: number; signal?: AbortSignal }): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(TIMED_OUT), options.timeoutMs);
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

/** The error of a wait whose signal aborted: `timeout` (retryable) or `aborted`. */
export function abortError(signal: AbortSignal, id: string, timeoutMs?: number): RlmApiError {
  if (signal.reason === TIMED_OUT) {
    return new RlmApiError(
      ClientErrorCode.timeout,
      `analysis ${id} did not end within ${timeoutMs} ms (it goes on; cancel it to stop it)`,
      { retryable: true, analysisId: id },
    );
  }
  return new RlmApiError(ClientErrorCode.aborted, `the wait for analysis ${id} was aborted`, {
    retryable: false,
    analysisId: id,
    cause: signal.reason,
  });
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
