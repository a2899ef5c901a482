import { subCallMessages } from "@rlm/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createOpenAIModelClient } from "../src/index.js";
import { WINDOWED_BODY_MIN_CHARS, WindowedJsonBody } from "../src/windowed-json-body.js";
import { json, type ScriptedServer, startScriptedServer } from "./scripted-server.js";

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 0,
  model: "sub-model",
  choices: [{ index: 0, message: { role: "assistant", content: "seen" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
};

/**
 * A large chunk with everything JSON must escape and UTF-8 must encode in several bytes,
 * and a surrogate pair at every window boundary the body might cut.
 */
function awkwardChunk(chars: number): string {
  const pattern = 'plain "quoted" back\\slash\ttab\nline\u0001ctl é 中 😀 ';
  let text = pattern.repeat(Math.ceil(chars / pattern.length)).slice(0, chars);
  // A pair straddling 256 Ki, where the first window would otherwise end.
  const at = 256 * 1024 - 1;
  text = `${text.slice(0, at)}😀${text.slice(at + 2)}`;
  return text;
}

describe("WindowedJsonBody", () => {
  it("produces exactly the JSON the SDK would send, and says its UTF-8 length", () => {
    const chunk = awkwardChunk(700_000);
    const messages = subCallMessages("Which lines mention 中?", chunk);
    const fields = { model: "sub-model", max_tokens: 50 };
    const body = WindowedJsonBody.chatCompletion(fields, messages);
    const text = [...body.pieces()].join("");
    const expected = {
      ...fields,
      messages: messages.map(({ role, content }) => ({ role, content })),
    };
    expect(JSON.parse(text)).toEqual(expected);
    expect(body.byteLength).toBe(Buffer.byteLength(text, "utf8"));
    // A second pass (a retry) gives the same text, and so do its bytes.
    expect([...body.pieces()].join("")).toBe(text);
    expect(Buffer.concat([...body.bytes()]).toString("utf8")).toBe(text);
  });

  it("never holds a large part whole: its pieces are windows of it", () => {
    const chunk = "x".repeat(3_000_000);
    const body = WindowedJsonBody.chatCompletion({ model: "m" }, subCallMessages("q", chunk));
    const longest = Math.max(...[...body.pieces()].map((piece) => piece.length));
    expect(longest).toBeLessThanOrEqual(256 * 1024);
  });
});

describe("a model client sending a large prompt", () => {
  let server: ScriptedServer;
  beforeEach(async () => {
    server = await startScriptedServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("delivers it intact with a correct Content-Length", async () => {
    server.script(json(200, completion));
    const chunk = awkwardChunk(WINDOWED_BODY_MIN_CHARS + 500_000);
    const messages = subCallMessages("Summarise the text.", chunk);
    const client = createOpenAIModelClient({
      apiKey: "test-key",
      baseURL: server.baseURL,
      retry: { maxAttempts: 1 },
    });
    const response = await client.complete({ model: "sub-model", messages, maxOutputTokens: 20 });
    expect(response.content).toBe("seen");
    const received = server.requests[0]!;
    expect(received.headers["content-type"]).toBe("application/json");
    expect(received.headers["transfer-encoding"]).toBeUndefined();
    expect(received.body).toEqual({
      model: "sub-model",
      max_completion_tokens: 20,
      messages: messages.map(({ role, content }) => ({ role, content })),
    });
  });

  it("sends it again, whole, on a retry", async () => {
    server.script(json(503, { error: { message: "busy" } }), json(200, completion));
    const messages = subCallMessages("q", awkwardChunk(WINDOWED_BODY_MIN_CHARS));
    const client = createOpenAIModelClient({
      apiKey: "test-key",
      baseURL: server.baseURL,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await client.complete({ model: "sub-model", messages });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.body).toEqual(server.requests[0]!.body);
    expect(
      (server.requests[1]!.body as { messages: { content: string }[] }).messages[1]!.content,
    ).toBe(messages[1]!.content);
  });
});
