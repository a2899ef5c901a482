import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { Rlm } from "rlm-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";

let mock: MockLlmServer;
const document = makeDocument({ chars: 600_000, markerCount: 23, seed: 11 });

beforeAll(async () => {
  mock = await startMockLlmServer({
    latencyMs: 2,
    strategy: "map-reduce",
    chunkChars: 60_000,
    seed: 42,
  });
});

afterAll(async () => {
  await mock?.stop();
});

describe("model faults", () => {
  it("with 20% injected faults every analysis still completes with the right answer", async () => {
    mock.configure({
      faults: {
        rateLimitRate: 0.05,
        serverErrorRate: 0.05,
        hangRate: 0.03,
        malformedRate: 0.04,
        emptyRate: 0.03,
        retryAfterSeconds: 0,
      },
    });
    const rlm = new Rlm({
      baseURL: mock.url,
      apiKey: "k",
      subConcurrency: 10,
      timeoutMs: 1_000,
      maxAttempts: 10,
    });
    for (let run = 0; run < 4; run += 1) {
      const result = await rlm.completion(
        `How many times does "${document.marker}" appear?`,
        document.text,
      );
      expect(result.finishReason).toBe("final");
      expect(result.answer.trim()).toBe(String(document.markerCount));
    }
    const faulted = mock.requests().filter((request) => request.fault !== undefined);
    expect(faulted.length).toBeGreaterThan(5);
    expect(new Set(faulted.map((request) => request.fault)).size).toBeGreaterThanOrEqual(4);
  });

  it("a 400 from the provider fails fast with a clear error", async () => {
    mock.configure({ faults: { badRequestWhen: "FORBIDDEN-QUERY" } });
    mock.reset();
    const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", maxAttempts: 6 });
    const result = await rlm.completion("Count FORBIDDEN-QUERY please", document.text);
    expect(result.finishReason).toBe("error");
    expect(result.error?.code).toBe("bad_request");
    expect(result.error?.retryable).toBe(false);
    expect(result.error?.message).toMatch(/400|bad request|invalid/i);
    expect(mock.requests()).toHaveLength(1);
  });
});
