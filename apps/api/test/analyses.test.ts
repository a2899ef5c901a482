import { AnalysisReporter, createRootQueue, type RootJobData, type RootQueue } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUTH,
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
} from "./helpers.js";

const prefix = uniquePrefix("analyses");
let app: FastifyInstance;
let baseUrl: string;
let rootQueue: RootQueue;

beforeAll(async () => {
  app = testServer(prefix);
  baseUrl = await listen(app);
  rootQueue = createRootQueue({ connection: REDIS_OPTIONS, prefix });
});

afterAll(async () => {
  await rootQueue.close();
  await app.close();
  await deleteKeysUnder(prefix);
});

interface Enqueued {
  id: string;
  status: string;
  deduplicated: boolean;
}

async function rootJobData(id: string): Promise<RootJobData> {
  const job = await rootQueue.getJob(id);
  expect(job, `job ${id} in rlm-root`).toBeDefined();
  return job!.data as RootJobData;
}

describe("POST /v1/analyses", () => {
  it("accepts a JSON body: 202, queued, and a root job carrying a context reference", async () => {
    const document = "The quick brown fox. ".repeat(100);
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "What animal?", context: document, options: { maxIterations: 3 } },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json() as Enqueued;
    expect(body).toEqual({
      id: expect.stringMatching(/^an_/),
      status: "queued",
      deduplicated: false,
      links: { viewer: `/admin/viewer/${body.id}` },
    });
    expect(res.headers.location).toBe(`/v1/analyses/${body.id}`);

    const view = await app.inject({ method: "GET", url: `/v1/analyses/${body.id}`, headers: AUTH });
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({
      id: body.id,
      status: "queued",
      progress: { iteration: 0, maxIterations: 3 },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(view.json().result).toBeUndefined();

    const data = await rootJobData(body.id);
    expect(data.contextRef).toMatchObject({ kind: "string", chars: document.length });
    expect(data.query).toBe("What animal?");
    expect(data.options.maxIterations).toBe(3);
    // The job carries a reference, never the document.
    expect(JSON.stringify(data)).not.toContain("quick brown fox");
  });

  it("accepts a JSON array or object context", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: ["a", "bb"] },
    });
    expect(res.statusCode).toBe(202);
    const data = await rootJobData((res.json() as Enqueued).id);
    expect(data.contextRef).toMatchObject({
      kind: "json",
      chars: JSON.stringify(["a", "bb"]).length,
    });
  });

  it("accepts a multipart upload (text file) with the right context length", async () => {
    const document = "line one\nline two — ünïcode\n".repeat(500);
    const form = new FormData();
    form.append("query", "Summarise");
    form.append("options", JSON.stringify({ maxDepth: 2 }));
    form.append("context", new Blob([document], { type: "text/plain" }), "notes.txt");
    const res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: form,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Enqueued;
    const data = await rootJobData(id);
    expect(data.contextRef).toMatchObject({ kind: "string", chars: document.length });
    expect(data.options.maxDepth).toBe(2);
    expect(data.query).toBe("Summarise");
  });

  it("parses a .json multipart file as JSON", async () => {
    const context = { chapters: ["one", "two"], title: "t" };
    const form = new FormData();
    form.append("query", "q");
    form.append("context", new Blob([JSON.stringify(context)]), "book.json");
    const res = await fetch(`${baseUrl}/v1/analyses`, {
      method: "POST",
      headers: AUTH,
      body: form,
    });
    expect(res.status).toBe(202);
    const data = await rootJobData(((await res.json()) as Enqueued).id);
    expect(data.contextRef).toMatchObject({ kind: "json", chars: JSON.stringify(context).length });
  });

  it("accepts a text/plain body with the query in the query string", async () => {
    const document = "plain text document\n".repeat(321);
    const res = await app.inject({
      method: "POST",
      url: `/v1/analyses?query=${encodeURIComponent("How many lines?")}`,
      headers: { ...AUTH, "content-type": "text/plain; charset=utf-8" },
      payload: document,
    });
    expect(res.statusCode).toBe(202);
    const data = await rootJobData((res.json() as Enqueued).id);
    expect(data.contextRef).toMatchObject({ kind: "string", chars: document.length });
    expect(data.query).toBe("How many lines?");
  });

  it("takes other text types (markdown) as the document too", async () => {
    const document = "# Title\n\nSome *markdown*.\n";
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses?query=q",
      headers: { ...AUTH, "content-type": "text/markdown" },
      payload: document,
    });
    expect(res.statusCode).toBe(202);
    const data = await rootJobData((res.json() as Enqueued).id);
    expect(data.contextRef).toMatchObject({ kind: "string", chars: document.length });
  });

  it("returns the same analysis for the same idempotency key (body, then header)", async () => {
    const key = `key-${Date.now()}`;
    const first = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: "doc", idempotencyKey: key },
    });
    expect(first.statusCode).toBe(202);
    const a = first.json() as Enqueued;
    expect(a.deduplicated).toBe(false);

    const second = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "idempotency-key": key },
      payload: { query: "q", context: "doc" },
    });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual({
      id: a.id,
      status: "queued",
      deduplicated: true,
      links: { viewer: `/admin/viewer/${a.id}` },
    });

    const third = await app.inject({
      method: "POST",
      url: "/v1/analyses?query=q",
      headers: { ...AUTH, "idempotency-key": key, "content-type": "text/plain" },
      payload: "doc",
    });
    expect((third.json() as Enqueued).id).toBe(a.id);

    const conflicting = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "idempotency-key": "other" },
      payload: { query: "q", context: "doc", idempotencyKey: key },
    });
    expect(conflicting.statusCode).toBe(400);
  });
});

describe("Idempotency-Key binds a key to one request", () => {
  async function post(key: string, payload: object) {
    return app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "idempotency-key": key },
      payload,
    });
  }

  it("the same request again returns the first analysis, marked as replayed", async () => {
    const key = `same-${Date.now()}`;
    const options = { maxIterations: 3, budgets: { maxSubCalls: 5, maxTokens: 900 } };
    const first = await post(key, { query: "q", context: { a: [1, 2] }, options });
    expect(first.statusCode).toBe(202);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    // The same options in another key order are the same request.
    const reordered = { budgets: { maxTokens: 900, maxSubCalls: 5 }, maxIterations: 3 };
    const second = await post(key, { options: reordered, context: { a: [1, 2] }, query: "q" });
    expect(second.statusCode).toBe(202);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.json()).toMatchObject({ id: first.json().id, deduplicated: true });
  });

  it("the same key with another query, context or options is a 422, never the first analysis", async () => {
    const key = `other-${Date.now()}`;
    const first = await post(key, { query: "q", context: "document one" });
    expect(first.statusCode).toBe(202);
    const changes = [
      { query: "another question", context: "document one" },
      { query: "q", context: "document two" },
      { query: "q", context: ["document one"] },
      { query: "q", context: "document one", options: { maxIterations: 2 } },
    ];
    for (const payload of changes) {
      const reused = await post(key, payload);
      expect(reused.statusCode).toBe(422);
      expect(reused.json().error).toEqual({
        code: "idempotency_key_reused",
        message: expect.stringMatching(/different request/),
      });
      expect(JSON.stringify(reused.json())).not.toContain(first.json().id);
    }
    // The key still belongs to the first request.
    expect((await post(key, { query: "q", context: "document one" })).json().id).toBe(
      first.json().id,
    );
  });

  it("a request refused as invalid leaves the key free for the corrected one", async () => {
    const key = `fixed-${Date.now()}`;
    const invalid = await post(key, { query: "q", context: "doc", options: { maxDepth: 99 } });
    expect(invalid.statusCode).toBe(400);
    const fixed = await post(key, { query: "q", context: "doc", options: { maxDepth: 2 } });
    expect(fixed.statusCode).toBe(202);
    expect(fixed.json().deduplicated).toBe(false);
  });

  it("a text upload and a JSON body of the same document are the same request", async () => {
    const key = `forms-${Date.now()}`;
    const text = await app.inject({
      method: "POST",
      url: "/v1/analyses?query=q",
      headers: { ...AUTH, "idempotency-key": key, "content-type": "text/plain" },
      payload: "the document",
    });
    expect(text.statusCode).toBe(202);
    const json = await post(key, { query: "q", context: "the document" });
    expect(json.json()).toMatchObject({ id: text.json().id, deduplicated: true });
  });
});

describe("DELETE /v1/analyses/:id", () => {
  it("cancels a queued analysis, then answers 409", async () => {
    const created = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: "to be cancelled" },
    });
    const { id } = created.json() as Enqueued;

    const res = await app.inject({ method: "DELETE", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id, outcome: "cancelled" });

    const view = await app.inject({ method: "GET", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(view.json().status).toBe("cancelled");
    expect(await rootQueue.getJob(id)).toBeUndefined();

    const again = await app.inject({ method: "DELETE", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("already_finished");
  });

  it("asks a running analysis to stop (outcome requested)", async () => {
    const created = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: "running document" },
    });
    const { id } = created.json() as Enqueued;
    const redis = new Redis(REDIS_OPTIONS);
    try {
      await new AnalysisReporter({ redis, analysisId: id, prefix }).running();
    } finally {
      await redis.quit();
    }
    const res = await app.inject({ method: "DELETE", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id, outcome: "requested" });
    const view = await app.inject({ method: "GET", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(view.json()).toMatchObject({ status: "running", cancelRequested: true });
  });
});
