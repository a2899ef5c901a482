/** The part of a `Headers` object this module reads. */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * How long the provider asked us to wait, in milliseconds, or `undefined` when it did not
 * say (or said something unparseable).
 *
 * Reads OpenAI's non-standard `retry-after-ms` first (it is more precise), then the
 * standard `Retry-After` as seconds (fractions allowed) or as an HTTP date relative to
 * `now`. A date in the past gives 0. No cap is applied here: the caller caps the sleep.
 */
export function parseRetryAfterMs(
  headers: HeaderReader | undefined,
  now: number = Date.now(),
): number | undefined {
  if (headers === undefined) return undefined;

  const milliseconds = parseNonNegativeNumber(headers.get("retry-after-ms"));
  if (milliseconds !== undefined) return Math.ceil(milliseconds);

  const retryAfter = headers.get("retry-after")?.trim();
  if (retryAfter === undefined || retryAfter === "") return undefined;

  const seconds = parseNonNegativeNumber(retryAfter);
  if (seconds !== undefined) return Math.ceil(seconds * 1000);

  // Date.parse is lenient ("-5" is a year); an HTTP date always names a month or day.
  if (!/[a-z]/i.test(retryAfter)) return undefined;
  const date = Date.parse(retryAfter);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function parseNonNegativeNumber(text: string | null): number | undefined {
  if (text === null) return undefined;
  const trimmed = text.trim();
  // Number("") is 0 and Number("1e3") is 1000: only accept plain decimals.
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}
