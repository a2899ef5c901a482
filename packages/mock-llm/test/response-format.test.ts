import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { subCallMessages } from "@rlm/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockLlmServer, startMockLlmServer, structuredAnswer } from "../src/index.js";
import { readBody } from "../src/request-body.js";
import { rootConversation } from "./helpers/conversations.js";
import { type CompletionJson, postChat } from "./helpers/http.js";

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  server.configure({ rejectResponseFormat: false });
  server.reset();
});

const count = subCallMessages('How many times does "x" appear?', "x y x z x");
const schemaFormat = (schema: Record<string, unknown>) => ({
  type: "json_schema",
  json_schema: { name: "answer", schema, strict: true },
});

async function content(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  return ((await response.json()) as CompletionJson).choices[0]?.message.content ?? "";
}

describe("response_format on sub-calls", () => {
  it("answers json_schema with JSON that follows the schema, from the same honest answer", async () => {
    const format = schemaFormat({
      type: "object",
      properties: { count: { type: "integer" }, found: { type: "boolean" } },
      required: ["count", "found"],
    });
    const text = await content(
      await postChat(server.url, { model: "m", messages: count, response_format: format }),
    );
    expect(JSON.parse(text)).toEqual({ count: 3, found: true });
    expect(server.requests()[0]).toMatchObject({ kind: "sub", responseFormat: "json_schema" });
  });

  it("streams the same JSON when asked to stream", async () => {
    const format = schemaFormat({ type: "object", properties: { count: { type: "number" } } });
    const response = await postChat(server.url, {
      model: "m",
      messages: count,
      response_format: format,
      stream: true,
    });
    const pieces = (await response.text())
      .split("\n\n")
      .filter((event) => event.startsWith("data: {"))
      .map(
        (event) =>
          JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> },
      )
      .map((chunk) => chunk.choices[0]?.delta.content ?? "");
    expect(JSON.parse(pieces.join(""))).toEqual({ count: 3 });
  });

  it("wraps the answer for json_object, and leaves root turns and text formats alone", async () => {
    const wrapped = await content(
      await postChat(server.url, {
        model: "m",
        messages: count,
        response_format: { type: "json_object" },
      }),
    );
    expect(JSON.parse(wrapped)).toEqual({ answer: "3" });
    const plain = await content(
      await postChat(server.url, {
        model: "m",
        messages: count,
        response_format: { type: "text" },
      }),
    );
    expect(plain).toBe("3");
    const root = rootConversation("Find x", "x");
    const withFormat = await content(
      await postChat(server.url, {
        model: "m",
        messages: root,
        response_format: schemaFormat({ type: "object" }),
      }),
    );
    const without = await content(await postChat(server.url, { model: "m", messages: root }));
    expect(withFormat).toBe(without);
  });

  it("refuses json_schema with OpenAI's 400 when told to, and still answers without it", async () => {
    server.configure({ rejectResponseFormat: true });
    const response = await postChat(server.url, {
      model: "m",
      messages: count,
      response_format: schemaFormat({ type: "object" }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain(
      "'response_format' of type 'json_schema' is not supported",
    );
    expect(await content(await postChat(server.url, { model: "m", messages: count }))).toBe("3");
    expect(server.requests().map((record) => record.status)).toEqual([400, 200]);
  });

  it("answers 400 naming the parameter to a response_format it cannot read", async () => {
    for (const [format, param] of [
      [{ type: "xml" }, "response_format.type"],
      [{ type: "json_schema" }, "response_format.json_schema.name"],
    ] as const) {
      const response = await postChat(server.url, {
        model: "m",
        messages: count,
        response_format: format,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });
});

describe("structuredAnswer", () => {
  it("fills each type from the answer", () => {
    const schema = {
      type: "object",
      properties: {
        total: { type: "integer" },
        share: { type: "number" },
        line: { type: "string" },
        level: { enum: ["low", "high"] },
        found: { type: "boolean" },
        lines: { type: "array", items: { type: "string" } },
        nested: { type: "object", properties: { note: { type: ["string", "null"] } } },
        either: { anyOf: [{ type: "integer" }, { type: "string" }] },
        fixed: { const: "v1" },
        nothing: { type: "null" },
      },
    };
    expect(structuredAnswer("Severity HIGH on 1,204.5 lines", schema)).toEqual({
      total: 1205,
      share: 1204.5,
      line: "Severity HIGH on 1,204.5 lines",
      level: "high",
      found: true,
      lines: ["Severity HIGH on 1,204.5 lines"],
      nested: { note: "Severity HIGH on 1,204.5 lines" },
      either: 1205,
      fixed: "v1",
      nothing: null,
    });
  });

  it("reports nothing found as false, zero and an empty list", () => {
    const schema = {
      type: "object",
      properties: {
        found: { type: "boolean" },
        count: { type: "integer" },
        hits: { type: "array", items: { type: "string" } },
      },
    };
    expect(structuredAnswer("NOT FOUND", schema)).toEqual({ found: false, count: 0, hits: [] });
    expect(structuredAnswer("0", schema)).toEqual({ found: false, count: 0, hits: [] });
  });
});

describe("request bodies", () => {
  it("reads a body whole, chunked or not, and refuses one over the limit", async () => {
    const sizes: Array<number | "too large"> = [];
    const small = createServer((req, res) => {
      void readBody(req, 10).then((body) => {
        sizes.push(body === undefined ? "too large" : body.length);
        res.end();
      });
    });
    small.listen(0, "127.0.0.1");
    await once(small, "listening");
    const url = `http://127.0.0.1:${(small.address() as AddressInfo).port}/`;
    try {
      await fetch(url, { method: "POST", body: "0123456789" });
      await fetch(url, { method: "POST", body: "0123456789A" });
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of ["01234", "56789", "AB"]) controller.enqueue(Buffer.from(piece));
          controller.close();
        },
      });
      await fetch(url, { method: "POST", body: chunked, duplex: "half" } as RequestInit);
      expect(sizes).toEqual([10, "too large", "too large"]);
    } finally {
      small.closeAllConnections();
      small.close();
    }
  });
});
