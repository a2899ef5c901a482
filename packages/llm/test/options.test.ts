import { RlmError } from "@rlm/core";
import { describe, expect, it } from "vitest";
import {
  createOpenAIModelClient,
  OPENAI_BASE_URL,
  type OpenAIModelClientOptions,
} from "../src/index.js";

function invalid(options: OpenAIModelClientOptions): RlmError {
  try {
    createOpenAIModelClient(options);
  } catch (error) {
    expect(error).toBeInstanceOf(RlmError);
    return error as RlmError;
  }
  throw new Error("expected invalid options to throw");
}

describe("createOpenAIModelClient options", () => {
  it("requires a non-empty apiKey", () => {
    const missing = invalid({} as OpenAIModelClientOptions);
    expect(missing.code).toBe("invalid_options");
    expect(missing.message).toContain("apiKey");
    expect(invalid({ apiKey: "  " }).code).toBe("invalid_options");
  });

  it("rejects a base URL that is not http(s) and nonsensical retry settings", () => {
    expect(invalid({ apiKey: "k", baseURL: "localhost:8000" }).message).toContain("baseURL");
    expect(invalid({ apiKey: "k", retry: { maxAttempts: 0 } }).message).toContain("maxAttempts");
    expect(invalid({ apiKey: "k", timeoutMs: 0 }).message).toContain("timeoutMs");
    expect(invalid({ apiKey: "k", proxy: { httpsProxy: "proxy.corp:3128" } }).message).toContain(
      "proxy.httpsProxy",
    );
  });

  it("defaults to OpenAI's endpoint", () => {
    expect(createOpenAIModelClient({ apiKey: "k" }).baseURL).toBe(OPENAI_BASE_URL);
  });
});
