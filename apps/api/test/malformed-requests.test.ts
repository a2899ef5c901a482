import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../src/body-parsers.js";
import { AUTH, deleteKeysUnder, listen, testServer, uniquePrefix } from "./helpers.js";
import { type RawResponse, rawRequest } from "./raw-http.js";

// Every malformed request gets a 4xx with a JSON body saying what is wrong, sent over
// real HTTP exactly as a broken or hostile client would send it.

const prefix = uniquePrefix("malformed");
const BODY_LIMIT = 1024 * 1024;
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

const BOUNDARY = "rlm-test-boundary";

function post(path: string, contentType: string | undefined, body: Buffer | string) {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return rawRequest(baseUrl, {
    path,
    headers: {
      ...AUTH,
      ...(contentType === undefined ? {} : { "content-type": contentType }),
      "content-length": bytes.length,
    },
    body: [bytes],
  });
}

function expectError(response: RawResponse, status: number, code: string, message: RegExp) {
  expect({ status: response.status, body: response.body }).toMatchObject({ status });
  expect(response.headers["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
}

/** `[[[…"x"…]]]`: a JSON array nested `depth` levels. */
function nested(depth: number): string {
  return `${"[".repeat(depth)}"x"${"]".repeat(depth)}`;
}

function multipart(parts: string): string {
  return `${parts}--${BOUNDARY}--\r\n`;
}

function part(name: string, value: string, filename?: string, type?: string): string {
  const file = filename === undefined ? "" : `; filename="${filename}"`;
  const contentType = type === undefined ? "" : `\r\nContent-Type: ${type}`;
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${file}${contentType}\r\n\r\n${value}\r\n`;
}

describe("deep nesting is bounded", () => {
  it(`answers 400 for a context nested 100,000 levels deep (limit ${MAX_JSON_DEPTH})`, async () => {
    const response = await post(
      "/v1/analyses",
      "application/json",
      `{"query":"q","context":${nested(100_000)}}`,
    );
    expectError(response, 400, "invalid_request", /more than 256 levels deep/);
  });

  it("accepts the deepest allowed body and refuses one level more", async () => {
    // The body object is level 1, so the context may nest MAX_JSON_DEPTH - 1 arrays.
    const deepest = await post(
      "/v1/analyses",
      "application/json",
      `{"query":"q","context":${nested(MAX_JSON_DEPTH - 1)}}`,
    );
    expect(deepest.status).toBe(202);
    const deeper = await post(
      "/v1/analyses",
      "application/json",
      `{"query":"q","context":${nested(MAX_JSON_DEPTH)}}`,
    );
    expectError(deeper, 400, "invalid_request", /levels deep/);
  });

  it("bounds an output schema, a .json upload and options in a form the same way", async () => {
    const schema = `{"type":"object","properties":{"a":${'{"items":'.repeat(5_000)}{}${"}".repeat(5_000)}}}`;
    const deepSchema = await post(
      "/v1/analyses",
      "application/json",
      `{"query":"q","context":"doc","options":{"outputSchema":${schema}}}`,
    );
    expectError(deepSchema, 400, "invalid_request", /levels deep/);

    const upload = await post(
      "/v1/analyses",
      `multipart/form-data; boundary=${BOUNDARY}`,
      multipart(part("query", "q") + part("context", nested(50_000), "doc.json")),
    );
    expectError(upload, 400, "invalid_request", /context nests .* levels deep/);

    const options = `{"outputSchema":${schema}}`;
    const form = await post(
      "/v1/analyses",
      `multipart/form-data; boundary=${BOUNDARY}`,
      multipart(part("query", "q") + part("options", options) + part("context", "d", "d.txt")),
    );
    expectError(form, 400, "invalid_request", /options nests .* levels deep/);
  });
});

describe("broken multipart bodies are 400s", () => {
  it("a body cut short inside the document", async () => {
    const truncated = `${part("query", "q")}--${BOUNDARY}\r\nContent-Disposition: form-data; name="context"; filename="a.txt"\r\n\r\nthe document sto`;
    const response = await post(
      "/v1/analyses",
      `multipart/form-data; boundary=${BOUNDARY}`,
      truncated,
    );
    expectError(response, 400, "invalid_request", /multipart body is malformed/);
  });

  it("a body cut short inside a part's headers, and one with no boundary", async () => {
    const cut = `--${BOUNDARY}\r\nContent-Disposition: form-da`;
    expectError(
      await post("/v1/analyses", `multipart/form-data; boundary=${BOUNDARY}`, cut),
      400,
      "invalid_request",
      /multipart body is malformed/,
    );
    expectError(
      await post("/v1/analyses", "multipart/form-data", multipart(part("query", "q"))),
      400,
      "invalid_request",
      /multipart body is malformed/,
    );
  });
});

describe("bodies that are not UTF-8 are 400s", () => {
  const latin1 = Buffer.from("café au lait", "latin1");

  it("JSON, text and a multipart file with invalid UTF-8", async () => {
    const json = Buffer.concat([
      Buffer.from('{"query":"q","context":"'),
      latin1,
      Buffer.from('"}'),
    ]);
    expectError(
      await post("/v1/analyses", "application/json", json),
      400,
      "invalid_request",
      /not valid UTF-8/,
    );
    expectError(
      await post("/v1/analyses?query=q", "text/plain", latin1),
      400,
      "invalid_request",
      /not valid UTF-8/,
    );
    const form = Buffer.concat([
      Buffer.from(
        `${part("query", "q")}--${BOUNDARY}\r\nContent-Disposition: form-data; name="context"; filename="a.txt"\r\n\r\n`,
      ),
      latin1,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
    expectError(
      await post("/v1/analyses", `multipart/form-data; boundary=${BOUNDARY}`, form),
      400,
      "invalid_request",
      /not valid UTF-8/,
    );
  });

  it("a declared charset other than UTF-8 is a 415; a byte order mark is dropped", async () => {
    expectError(
      await post("/v1/analyses?query=q", "text/plain; charset=iso-8859-1", latin1),
      415,
      "unsupported_media_type",
      /charset iso-8859-1/,
    );
    const withBom = await post(
      "/v1/analyses",
      "application/json; charset=utf-8",
      `\ufeff{"query":"q","context":"café"}`,
    );
    expect(withBom.status).toBe(202);
  });
});

describe("other content types are 415s", () => {
  for (const type of ["application/xml", "application/x-www-form-urlencoded", undefined]) {
    it(`${type ?? "no content type"}`, async () => {
      expectError(
        await post("/v1/analyses", type, "query=q&context=doc"),
        415,
        "unsupported_media_type",
        /application\/json/,
      );
    });
  }
});

describe("a body over the limit gets a readable 413", () => {
  // These clients write the whole body before they read: the answer must survive that.
  const megabyte = Buffer.alloc(1024 * 1024, "x");
  const eightMegabytes = Array.from({ length: 8 }, () => megabyte);

  it("announced by its content-length", async () => {
    const response = await rawRequest(baseUrl, {
      path: "/v1/analyses?query=q",
      headers: { ...AUTH, "content-type": "text/plain", "content-length": 8 * megabyte.length },
      body: eightMegabytes,
    });
    expectError(response, 413, "payload_too_large", /larger than allowed/);
  });

  it("sent chunked, as JSON", async () => {
    const chunk = (piece: Buffer | string) => {
      const bytes = typeof piece === "string" ? Buffer.from(piece) : piece;
      return Buffer.concat([
        Buffer.from(`${bytes.length.toString(16)}\r\n`),
        bytes,
        Buffer.from("\r\n"),
      ]);
    };
    const body = [
      chunk('{"query":"q","context":"'),
      ...eightMegabytes.map(chunk),
      chunk('"}'),
      Buffer.from("0\r\n\r\n"),
    ];
    const response = await rawRequest(baseUrl, {
      path: "/v1/analyses",
      headers: { ...AUTH, "content-type": "application/json", "transfer-encoding": "chunked" },
      body,
    });
    expectError(response, 413, "payload_too_large", /larger than allowed/);
  });

  it("as a multipart upload", async () => {
    const head = Buffer.from(
      `${part("query", "q")}--${BOUNDARY}\r\nContent-Disposition: form-data; name="context"; filename="big.txt"\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    const length = head.length + 8 * megabyte.length + tail.length;
    const response = await rawRequest(baseUrl, {
      path: "/v1/analyses",
      headers: {
        ...AUTH,
        "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
        "content-length": length,
      },
      body: [head, ...eightMegabytes, tail],
    });
    expectError(response, 413, "payload_too_large", /larger than allowed/);
  });

  it("and so does a request refused on its headers alone (401)", async () => {
    const response = await rawRequest(baseUrl, {
      path: "/v1/analyses?query=q",
      headers: { "content-type": "text/plain", "content-length": 8 * megabyte.length },
      body: eightMegabytes,
    });
    expectError(response, 401, "unauthorized", /bearer token/);
  });
});
