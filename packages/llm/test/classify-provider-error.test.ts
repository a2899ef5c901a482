import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { describe, expect, it } from "vitest";
import { classifyProviderError, ModelCallError } from "../src/index.js";

/** A status error exactly as the openai SDK builds it from a response. */
function statusError(status: number, body: unknown, headers: Record<string, string> = {}) {
  return APIError.generate(status, body as object, undefined, new Headers(headers));
}

const context = { model: "gpt-4o", baseURL: "http://example.test/v1", attempts: 2 };

describe("classifyProviderError", () => {
  it.each([
    [400, "bad_request", false],
    [401, "authentication_failed", false],
    [403, "authentication_failed", false],
    [404, "model_not_found", false],
    [408, "timeout", true],
    [409, "provider_error", true],
    [413, "bad_request", false],
    [422, "bad_request", false],
    [429, "rate_limited", true],
    [500, "provider_error", true],
    [503, "provider_error", true],
  ])("classifies HTTP %i as %s (retryable %s)", (status, code, retryable) => {
    const error = classifyProviderError(
      statusError(status, { error: { message: "why" } }),
      context,
    );
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.attempts).toBe(2);
    expect(error.model).toBe("gpt-4o");
  });

  it("reads Retry-After from the error's headers", () => {
    const error = classifyProviderError(
      statusError(429, { error: { message: "slow down" } }, { "retry-after": "3" }),
    );
    expect(error.retryAfterMs).toBe(3000);
  });

  it("classifies connection, timeout and abort errors", () => {
    const refused = new APIConnectionError({
      cause: new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:1"), {
          code: "ECONNREFUSED",
        }),
      }),
    });
    const connection = classifyProviderError(refused, context);
    expect(connection.code).toBe("connection_failed");
    expect(connection.retryable).toBe(true);
    expect(connection.message).toContain("http://example.test/v1");
    expect(connection.message).toContain("connect ECONNREFUSED 10.0.0.1:1");

    expect(classifyProviderError(new APIConnectionTimeoutError(), context).code).toBe("timeout");
    const cancelled = classifyProviderError(new APIUserAbortError(), context);
    expect(cancelled.code).toBe("cancelled");
    expect(cancelled.retryable).toBe(false);
  });

  it("classifies invalid JSON as malformed_response and anything else as internal_error", () => {
    expect(classifyProviderError(new SyntaxError("Unexpected token")).code).toBe(
      "malformed_response",
    );
    const other = classifyProviderError(new RangeError("bug"));
    expect(other.code).toBe("internal_error");
    expect(other.retryable).toBe(false);
  });

  it("returns a ModelCallError unchanged", () => {
    const original = new ModelCallError("empty_response", "nothing", {
      model: "m",
      attempts: 1,
      retryable: true,
    });
    expect(classifyProviderError(original)).toBe(original);
  });
});
