import {
  describeContext,
  type ModelDelta,
  ROOT_SYSTEM_PROMPT,
  rootUserPrompt,
  subCallMessages,
} from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIModelClient, ModelCallError } from "../src/index.js";

// The client against the mock LLM over real HTTP: the paths the engine takes.
let mock: MockLlmServer;
beforeAll(async () => {
  mock = await startMockLlmServer();
});
afterAll(async () => {
  await mock.stop();
});

const question = 'How many times does "ERR-7" appear?';
const text = "ERR-7 ok\nERR-7 again\nfine\nERR-7";
const countFormat = {
  type: "json_schema" as const,
  json_schema: {
    name: "occurrences",
    schema: {
      type: "object",
      properties: { count: { type: "integer" }, term: { type: "string" } },
      required: ["count", "term"],
      additionalProperties: false,
    },
    strict: true,
  },
};

function client() {
  return createOpenAIModelClient({ apiKey: "k", baseURL: mock.url, retry: { maxAttempts: 1 } });
}

describe("the model client against the mock LLM", () => {
  it("streams an answer: the pieces add up to it, and usage comes from the stream", async () => {
    mock.reset();
    const deltas: ModelDelta[] = [];
    // A root turn: its answer (code) is long enough to arrive in several pieces.
    const messages = [
      { role: "system" as const, content: ROOT_SYSTEM_PROMPT },
      {
        role: "user" as const,
        content: rootUserPrompt(question, describeContext(text, 600), {
          number: 1,
          max: 10,
          depth: 0,
        }),
      },
    ];
    const streamed = await client().complete({
      model: "mock-root",
      messages,
      onDelta: (delta) => deltas.push(delta),
    });
    const plain = await client().complete({ model: "mock-root", messages });
    expect(streamed.content).toBe(plain.content);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((delta) => delta.text).join("")).toBe(streamed.content);
    expect(deltas.at(-1)?.receivedChars).toBe(streamed.content.length);
    expect(streamed.usageEstimated).toBe(false);
    expect(streamed.usage).toEqual(plain.usage);
    expect(mock.requests().map((record) => record.stream)).toEqual([true, false]);
  });

  it("gets JSON in the schema's shape when it asks for a response format", async () => {
    mock.reset();
    const response = await client().complete({
      model: "mock-sub",
      messages: subCallMessages(question, text),
      responseFormat: countFormat,
    });
    expect(JSON.parse(response.content)).toEqual({ count: 3, term: "3" });
    expect(mock.requests()[0]).toMatchObject({ kind: "sub", responseFormat: "json_schema" });
  });

  it("fails with unsupported_response_format, once, where the provider refuses it", async () => {
    mock.reset();
    mock.configure({ rejectResponseFormat: true });
    try {
      const refused = client().complete({
        model: "mock-sub",
        messages: subCallMessages(question, text),
        responseFormat: countFormat,
      });
      await expect(refused).rejects.toBeInstanceOf(ModelCallError);
      await expect(refused).rejects.toMatchObject({
        code: "unsupported_response_format",
        retryable: false,
        status: 400,
      });
      // Asked again without it, as the engine falls back: the plain answer.
      const plain = await client().complete({
        model: "mock-sub",
        messages: subCallMessages(question, text),
      });
      expect(plain.content).toBe("3");
      expect(mock.requests().map((record) => record.status)).toEqual([400, 200]);
    } finally {
      mock.configure({ rejectResponseFormat: false });
    }
  });
});
