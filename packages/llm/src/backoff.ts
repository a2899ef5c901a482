/** Bounds of the exponential backoff between attempts. */
export interface BackoffOptions {
  /** The cap on the first retry's delay; doubles with every further attempt. */
  baseDelayMs: number;
  /** No delay exceeds this. */
  maxDelayMs: number;
}

/**
 * The delay before the retry that follows failed attempt number `attempt` (1-based):
 * exponential backoff with full jitter, uniformly drawn from
 * `[0, min(maxDelayMs, baseDelayMs * 2^(attempt - 1))]`.
 *
 * Full jitter (rather than a fixed exponential delay) spreads many workers that failed
 * together, so they do not hit a recovering provider in lockstep.
 *
 * @param random a source of numbers in [0, 1), injectable for tests.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  // 2 ** 1100 is Infinity; Math.min then yields maxDelayMs, which is what we want.
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  const fraction = Math.min(1, Math.max(0, random()));
  return Math.floor(fraction * ceiling);
}
