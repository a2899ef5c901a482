import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, deleteKeysUnder, listen, testServer, uniquePrefix } from "./helpers.js";

const prefix = uniquePrefix("validation");
const BODY_LIMIT = 4096;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  app = testServer(prefix, { bodyLimitBytes: BODY_LIMIT });
  baseUrl = await listen(app);
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
});

async function postJson(payload: unknown) {
  return app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: AUTH,
    payload: payload as object,
  });
}

function expectInvalid(res: { statusCode: number; json(): unknown }, field: RegExp) {
  expect(res.statusCode).toBe(400);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe("invalid_request");
  expect(body.error.message).toMatch(field);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
}

describe("POST /v1/analyses rejects malformed JSON bodies with 400", () => {
  it("missing query", async () => {
    expectInvalid(await postJson({ context: "text" }), /query is required/);
  });

  it("query not a string", async () => {
    expectInvalid(await postJson({ query: 42, context: "text" }), /query must be a string/);
  });

  it("empty query", async () => {
    expectInvalid(await postJson({ query: "", context: "text" }), /query must not be empty/);
  });

  it("missing context", async () => {
    expectInvalid(await postJson({ query: "q" }), /context is required/);
  });

  it("empty context string", async () => {
    expectInvalid(await postJson({ query: "q", context: "" }), /context must not be empty/);
  });

  it("empty context array", async () => {
    expectInvalid(await postJson({ query: "q", context: [] }), /context must not be empty/);
  });

  it("empty context object", async () => {
    expectInvalid(await postJson({ query: "q", context: {} }), /context must not be empty/);
  });

  it("context a number", async () => {
    expectInvalid(
      await postJson({ query: "q", context: 12 }),
      /context must be a string or array or object/,
    );
  });

  it("unknown option key", async () => {
    expectInvalid(
      await postJson({ query: "q", context: "c", options: { maxIteration: 3 } }),
      /options\.maxIteration is not a known field/,
    );
  });

  it("unknown nested option key and wrong option type", async () => {
    expectInvalid(
      await postJson({ query: "q", context: "c", options: { budgets: { maxDollars: 1 } } }),
      /options\.budgets\.maxDollars is not a known field/,
    );
    expectInvalid(
      await postJson({ query: "q", context: "c", options: { maxDepth: "2" } }),
      /options\.maxDepth must be an integer/,
    );
  });

  it("out-of-range option (the engine's own check)", async () => {
    expectInvalid(
      await postJson({ query: "q", context: "c", options: { maxDepth: 99 } }),
      /maxDepth/,
    );
  });

  it("unknown top-level field", async () => {
    expectInvalid(await postJson({ query: "q", context: "c", maxDepth: 2 }), /maxDepth/);
  });

  it("invalid JSON", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: '{"query": "q", "context": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
  });

  it("over-long idempotency key", async () => {
    expectInvalid(
      await postJson({ query: "q", context: "c", idempotencyKey: "k".repeat(300) }),
      /idempotencyKey/,
    );
  });

  it("unsupported media type → 415", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "content-type": "application/xml" },
      payload: "<a/>",
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe("unsupported_media_type");
  });
});

describe("multipart and text bodies are validated too", () => {
  it("multipart without query, with an unknown option, with bad options JSON", async () => {
    const noQuery = new FormData();
    noQuery.append("context", new Blob(["text"]), "doc.txt");
    let res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: noQuery,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /query is required/,
    );

    const badOption = new FormData();
    badOption.append("query", "q");
    badOption.append("options", JSON.stringify({ colour: "red" }));
    badOption.append("context", new Blob(["text"]), "doc.txt");
    res = await fetch(`${baseUrl}/v1/analyses`, { method: "POST", headers: AUTH, body: badOption });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /options\.colour is not a known field/,
    );

    const badJson = new FormData();
    badJson.append("query", "q");
    badJson.append("context", new Blob(["{not json"]), "doc.json");
    res = await fetch(`${baseUrl}/v1/analyses`, { method: "POST", headers: AUTH, body: badJson });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /context is not valid JSON/,
    );
  });

  it("multipart without a context part, and an empty file", async () => {
    const noContext = new FormData();
    noContext.append("query", "q");
    let res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: noContext,
    });
    expect(res.status).toBe(400);

    const empty = new FormData();
    empty.append("query", "q");
    empty.append("context", new Blob([""]), "doc.txt");
    res = await fetch(`${baseUrl}/v1/analyses`, { method: "POST", headers: AUTH, body: empty });
    expect(res.status).toBe(400);
  });

  it("text/plain without a query, or empty", async () => {
    let res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "content-type": "text/plain" },
      payload: "some document",
    });
    expectInvalid(res, /query is required/);
    res = await app.inject({
      method: "POST",
      url: "/v1/analyses?query=q",
      headers: { ...AUTH, "content-type": "text/plain" },
      payload: "",
    });
    expect(res.statusCode).toBe(400);
  });
});

describe("bodies over bodyLimitBytes → 413", () => {
  it("oversize JSON body", async () => {
    const res = await postJson({ query: "q", context: "x".repeat(BODY_LIMIT + 1) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: { code: "payload_too_large", message: expect.any(String) },
    });
  });

  it("oversize text/plain body", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses?query=q",
      headers: { ...AUTH, "content-type": "text/plain" },
      payload: "x".repeat(BODY_LIMIT + 1),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("payload_too_large");
  });

  it("oversize multipart upload (over real HTTP)", async () => {
    const form = new FormData();
    form.append("query", "q");
    form.append("context", new Blob(["x".repeat(BODY_LIMIT * 4)]), "big.txt");
    const res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: form,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "payload_too_large",
    );
  });

  it("multipart whose fields together pass the limit", async () => {
    const form = new FormData();
    form.append("query", "q".repeat(BODY_LIMIT / 2 + 10));
    form.append("context", new Blob(["x".repeat(BODY_LIMIT / 2 + 10)]), "doc.txt");
    const res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: form,
    });
    expect(res.status).toBe(413);
  });
});

describe("unknown and malformed ids", () => {
  const unknown = "an_aaaaaaaaaaaaaaaaaaaa";

  it("GET, events and DELETE answer 404 for an unknown id", async () => {
    for (const [method, url] of [
      ["GET", `/v1/analyses/${unknown}`],
      ["GET", `/v1/analyses/${unknown}/events`],
      ["DELETE", `/v1/analyses/${unknown}`],
    ] as const) {
      const res = await app.inject({ method, url, headers: AUTH });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe("not_found");
    }
  });

  it("answers 400 for an id that is not well-formed", async () => {
    for (const id of ["an:x", "a%20b", "an.x"]) {
      const res = await app.inject({ method: "GET", url: `/v1/analyses/${id}`, headers: AUTH });
      expect(res.statusCode, id).toBe(400);
      expect(res.json().error.code).toBe("invalid_request");
    }
    const long = await app.inject({
      method: "GET",
      url: `/v1/analyses/${"x".repeat(200)}`,
      headers: AUTH,
    });
    expect(long.statusCode).toBe(414);
    expect(long.json().error.code).toBe("uri_too_long");
  });

  it("answers 404 JSON for unknown routes", async () => {
    const res = await app.inject({ method: "GET", url: "/v2/nothing", headers: AUTH });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
  });
});
