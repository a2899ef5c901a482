/** Waits `ms` milliseconds; `signal` may cut the wait short. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Thrown by {@link abortableSleep} and {@link raceWithAbort} when the signal fires. */
export class AbortedWaitError extends Error {
  constructor() {
    super("the wait was aborted");
    this.name = "AbortedWaitError";
  }
}

/** A timer-based {@link Sleep} that rejects with {@link AbortedWaitError} on abort. */
export const abortableSleep: Sleep = (ms, signal) =>
  raceWithAbort(
    new Promise<void>((resolve) => {
      // Clear the timer on abort so an aborted 30 s backoff does not keep the process alive,
      // and drop the listener when the timer fires: a long-lived signal must not collect one
      // listener per backoff.
      const onAbort = () => clearTimeout(timer);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
    signal,
  );

/**
 * Settles like `promise`, unless `signal` fires first: then rejects at once with
 * `reason(signal)` ({@link AbortedWaitError} by default), whether or not `promise` ever
 * notices the abort.
 */
export function raceWithAbort<T>(
  promise: PromiseLike<T>,
  signal: AbortSignal | undefined,
  reason: (signal: AbortSignal) => unknown = () => new AbortedWaitError(),
): Promise<T> {
  if (signal === undefined) return Promise.resolve(promise);
  if (signal.aborted) return Promise.reject(reason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
