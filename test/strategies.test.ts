import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { Rlm } from "rlm-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";

// The three RLM strategies end to end: real openai client, real HTTP, real isolated-vm.
const document = makeDocument({ chars: 2_000_000, markerCount: 57, sections: 12 });

let mock: MockLlmServer;

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 5 });
});

afterAll(async () => {
  await mock?.stop();
});

function rlm(): Rlm {
  return new Rlm({
    baseURL: mock.url,
    apiKey: "test-key",
    rootModel: "mock-root",
    subModel: "mock-sub",
    subConcurrency: 10,
  });
}

describe("strategies against the mock LLM over HTTP", () => {
  it("peek → grep → compute counts a marker planted across a 2 MB document", async () => {
    mock.configure({ strategy: "peek-grep" });
    const result = await rlm().completion(
      `How many times does "${document.marker}" appear?`,
      document.text,
    );
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe(String(document.markerCount));
    expect(result.replHistory.length).toBeGreaterThanOrEqual(2);
    // The document never went into a prompt.
    const promptChars = result.messages.reduce((sum, message) => sum + message.content.length, 0);
    expect(promptChars).toBeLessThan(20_000);
  });

  it("partition → map with recursiveLm → reduce gets the same count through sub-calls", async () => {
    mock.configure({ strategy: "map-reduce", chunkChars: 100_000 });
    mock.reset();
    const result = await rlm().completion(
      `How many times does "${document.marker}" appear?`,
      document.text,
    );
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const subCalls = mock.requests().filter((request) => request.kind === "sub");
    expect(subCalls.length).toBeGreaterThanOrEqual(20);
    expect(result.totalCalls).toBe(mock.requests().length);
    expect(result.usage.byModel["mock-sub"]?.inputTokens).toBeGreaterThan(400_000);
  });

  it("finds a needle", async () => {
    mock.configure({ strategy: "needle" });
    const result = await rlm().completion(
      'What is the "vault access code" for the Rotterdam hub?',
      document.text,
    );
    expect(result.finishReason).toBe("final");
    expect(result.answer).toContain("4471-ZETA");
  });

  it("hierarchical summarisation names every section", async () => {
    mock.configure({ strategy: "summarize", chunkChars: 100_000 });
    const result = await rlm().completion(
      "Summarize this report section by section.",
      document.text,
    );
    expect(result.finishReason).toBe("final");
    for (const section of document.sections) expect(result.answer).toContain(section);
  });

  it("works on an array-of-strings context and a JSON object context", async () => {
    mock.configure({ strategy: "peek-grep" });
    const lines = document.text.split("\n");
    const asArray = await rlm().completion(
      `How many times does "${document.marker}" appear?`,
      lines,
    );
    expect(asArray.answer.trim()).toBe(String(document.markerCount));
    const asObject = await rlm().completion(`How many times does "${document.marker}" appear?`, {
      title: "report",
      lines: lines.slice(0, 5000),
    });
    const expected = lines.slice(0, 5000).join("\n").split(document.marker).length - 1;
    expect(asObject.answer.trim()).toBe(String(expected));
  });
});
