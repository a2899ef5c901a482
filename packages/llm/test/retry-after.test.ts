import { describe, expect, it } from "vitest";
import { parseRetryAfterMs } from "../src/index.js";

const headers = (entries: Record<string, string>) => new Headers(entries);

describe("parseRetryAfterMs", () => {
  it("reads seconds, fractional seconds and retry-after-ms", () => {
    expect(parseRetryAfterMs(headers({ "retry-after": "2" }))).toBe(2000);
    expect(parseRetryAfterMs(headers({ "retry-after": "0.25" }))).toBe(250);
    expect(parseRetryAfterMs(headers({ "retry-after-ms": "1234.5" }))).toBe(1235);
  });

  it("prefers retry-after-ms over Retry-After", () => {
    expect(parseRetryAfterMs(headers({ "retry-after": "9", "retry-after-ms": "10" }))).toBe(10);
  });

  it("reads an HTTP date relative to now, and a past date as 0", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(
      parseRetryAfterMs(headers({ "retry-after": "Wed, 21 Oct 2015 07:28:05 GMT" }), now),
    ).toBe(5000);
    expect(
      parseRetryAfterMs(headers({ "retry-after": "Wed, 21 Oct 2015 07:27:00 GMT" }), now),
    ).toBe(0);
  });

  it("returns undefined for missing or unparseable values", () => {
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs(headers({}))).toBeUndefined();
    expect(parseRetryAfterMs(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfterMs(headers({ "retry-after": "-5" }))).toBeUndefined();
    expect(parseRetryAfterMs(headers({ "retry-after": "" }))).toBeUndefined();
  });
});
