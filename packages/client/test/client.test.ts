import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createApiServer } from "@rlm/api";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { type RlmWorker, startRlmWorker } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenApiChecker, type OpenApiDocument } from "../../../apps/api/test/openapi-checker.js";
import { makeDocument } from "../../../test/support/documents.js";
import { deleteKeys, uniquePrefix } from "../../../test/support/redis-prefix.js";
import { renderTypes, TYPES_FILE } from "../scripts/generate-types.js";
import { type AnalysisEvent, RlmApiError, RlmClient } from "../src/index.js";

// The client against a real API server over HTTP, with a real worker on real Redis and
// the mock LLM: the path a service that calls us takes.
const prefix = uniquePrefix("client");
const connection = { host: "127.0.0.1", port: 6379 };
const token = "client-test-token-0123456789";
let mock: MockLlmServer;
let api: FastifyInstance;
let worker: RlmWorker;
let baseUrl: string;
let rlm: RlmClient;
let checker: OpenApiChecker;

beforeAll(async () => {
  mock = await startMockLlmServer({ strategy: "map-reduce", chunkChars: 20_000, latencyMs: 5 });
  api = createApiServer({ connection, prefix, apiToken: token, logger: false });
  await api.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  worker = await startRlmWorker({
    connection,
    prefix,
    model: { baseURL: mock.url, apiKey: "test-key" },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  });
  rlm = new RlmClient({ baseUrl, token });
  const res = await fetch(`${baseUrl}/v1/openapi.json`, {
    headers: { authorization: `Bearer ${token}` },
  });
  checker = new OpenApiChecker((await res.json()) as OpenApiDocument);
});

afterAll(async () => {
  await worker?.close({ timeoutMs: 5_000 });
  await api?.close();
  await mock?.stop();
  await deleteKeys(prefix);
});

describe("the client and the server agree", () => {
  it("on the types: the committed ones are what openapi-typescript makes of /v1/openapi.json", async () => {
    const generated = await renderTypes(checker.document);
    const committed = await readFile(TYPES_FILE, "utf8");
    // On a difference: `npm run generate -w packages/client`, and commit the file.
    expect(committed).toBe(generated);
  });

  it("on every answer and event of a whole analysis", async () => {
    const document = makeDocument({ chars: 90_000, markerCount: 13, seed: 3 });
    const events: AnalysisEvent[] = [];
    const result = await rlm.analyze(
      `How many times does "${document.marker}" appear?`,
      document.text,
      {
        options: { maxIterations: 6 },
        timeoutMs: 60_000,
        onEvent: (event) => events.push(event),
      },
    );
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe("13");
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    // The stream carried progress and iterations, then the terminal event.
    const types = new Set(events.map((event) => event.type));
    for (const type of ["status", "progress", "iteration", "completed"]) {
      expect(types).toContain(type);
    }
    expect(events.at(-1)?.type).toBe("completed");
    for (const event of events) checker.checkComponent("AnalysisEvent", event);
    // The stream again, from the start and after an event (Last-Event-ID): the same events.
    const replayed = [];
    for await (const message of rlm.events(result.id)) replayed.push(message);
    expect(replayed.map((message) => message.event)).toEqual(events);
    const resumed = [];
    for await (const message of rlm.events(result.id, { after: replayed[2]!.id! })) {
      resumed.push(message.event);
    }
    expect(resumed).toEqual(events.slice(3));
    const view = await rlm.getAnalysis(result.id);
    expect(view.status).toBe("completed");
    checker.checkResponse("/v1/analyses/{id}", "get", 200, view);
    expect(view.result).toEqual(
      Object.fromEntries(Object.entries(result).filter(([key]) => key !== "id")),
    );
  });
});

describe("RlmClient", () => {
  it("waits by polling too, and resumes nothing twice for an ended analysis", async () => {
    const document = makeDocument({ chars: 50_000, markerCount: 4, seed: 5 });
    const { id, status } = await rlm.createAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      context: document.text,
    });
    expect(status).toBe("queued");
    const polled = await rlm.waitForResult(id, { wait: "poll", intervalMs: 50, timeoutMs: 60_000 });
    expect(polled.answer.trim()).toBe("4");
    // Waiting on an ended analysis answers at once, by either way.
    expect((await rlm.waitForResult(id, { timeoutMs: 5_000 })).answer).toBe(polled.answer);
  });

  it("passes an outputSchema through and returns the validated output", async () => {
    const document = makeDocument({ chars: 30_000, markerCount: 5, seed: 4 });
    const result = await rlm.analyze(
      `How many times does "${document.marker}" appear?`,
      document.text,
      {
        options: {
          outputSchema: {
            type: "object",
            properties: { count: { type: "integer" } },
            required: ["count"],
          },
        },
        timeoutMs: 60_000,
      },
    );
    expect(result.output).toEqual({ count: 5 });
    checker.checkResponse("/v1/analyses/{id}", "get", 200, await rlm.getAnalysis(result.id));
  });

  /**
   * A fetch that a proxy cuts after two chunks of the first event stream; with
   * `reconnectAfterEnd`, the client's next requests wait until the analysis has ended.
   */
  function cuttingFetch(reconnectAfterEnd: boolean): {
    fetch: typeof fetch;
    requests: () => number;
  } {
    let eventRequests = 0;
    const cutting: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const isEvents = url.endsWith("/events") || url.includes("/events?");
      const id = /analyses\/([^/?]+)/.exec(url)?.[1];
      // After the cut, nothing of the client's gets through until the analysis has ended.
      if (reconnectAfterEnd && eventRequests >= 1 && id !== undefined) {
        await rlm.waitForResult(id, { timeoutMs: 60_000 }).catch(() => undefined);
      }
      const response = await fetch(input, init);
      if (!isEvents || ++eventRequests > 1 || !response.body) return response;
      const reader = response.body.getReader();
      let passed = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (passed === 2) {
            await reader.cancel();
            return controller.error(new TypeError("terminated"));
          }
          const { value, done } = await reader.read();
          if (done) return controller.close();
          passed += 1;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    return { fetch: cutting, requests: () => eventRequests };
  }

  it.each([
    ["while the analysis runs", false],
    ["after the analysis ended meanwhile", true],
  ])("resumes a dropped event stream after the last event it saw (%s)", async (_when, late) => {
    const cutting = cuttingFetch(late);
    const document = makeDocument({ chars: 50_000, markerCount: 7, seed: 9 });
    const seen: AnalysisEvent[] = [];
    const result = await new RlmClient({ baseUrl, token, fetch: cutting.fetch }).analyze(
      `How many times does "${document.marker}" appear?`,
      document.text,
      { timeoutMs: 60_000, intervalMs: 20, onEvent: (event) => seen.push(event) },
    );
    expect(result.answer.trim()).toBe("7");
    expect(cutting.requests()).toBeGreaterThan(1);
    // Every event once, in order: the same as a stream read whole.
    const whole = [];
    for await (const message of rlm.events(result.id)) whole.push(message.event);
    expect(seen).toEqual(whole);
  });

  it("uploads a document as a multipart file", async () => {
    const document = makeDocument({ chars: 40_000, markerCount: 6, seed: 8 });
    const accepted = await rlm.uploadAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      document: new Blob([document.text]),
      filename: "report.txt",
      idempotencyKey: `upload-${prefix}`,
    });
    const result = await rlm.waitForResult(accepted.id, { timeoutMs: 60_000 });
    expect(result.answer.trim()).toBe("6");
    // The same key again: the same analysis, nothing new enqueued.
    const again = await rlm.uploadAnalysis({
      query: `How many times does "${document.marker}" appear?`,
      document: document.text,
      idempotencyKey: `upload-${prefix}`,
    });
    expect(again).toMatchObject({ id: accepted.id, deduplicated: true });
  });

  it("creates a session, asks questions in it and reads it", async () => {
    const document = makeDocument({ chars: 60_000, markerCount: 9, seed: 6 });
    const session = await rlm.createSession(document.text, { options: { maxIterations: 6 } });
    checker.checkResponse("/v1/sessions", "post", 201, session);
    const first = await rlm.ask(session.id, `How many times does "${document.marker}" appear?`, {
      timeoutMs: 60_000,
    });
    expect(first.answer.trim()).toBe("9");
    const asked = await rlm.askSession(session.id, 'How many times does "Region 3" appear?');
    expect(asked).toMatchObject({ sessionId: session.id, position: 1, status: "queued" });
    const second = await rlm.waitForResult(asked.id, { timeoutMs: 60_000 });
    expect(second.answer.trim()).toBe(String(document.text.split("Region 3").length - 1));
    const view = await rlm.getSession(session.id);
    checker.checkResponse("/v1/sessions/{id}", "get", 200, view);
    expect(view.questions.map(({ analysisId, answer }) => [analysisId, answer])).toEqual([
      [first.id, first.answer],
      [asked.id, second.answer],
    ]);
    // A document as a file, and the errors of an unknown session.
    const uploaded = await rlm.uploadSession({ document: new Blob([document.text]) });
    expect(uploaded.questions).toEqual([]);
    const missing = await rlm.getSession("se_aaaaaaaaaaaaaaaaaaaa").catch((error) => error);
    expect(missing).toMatchObject({ code: "not_found", status: 404, retryable: false });
  });

  it("sends a webhook in JSON and multipart requests (this server, without a secret, refuses it)", async () => {
    const webhook = { url: "https://hooks.example.com/rlm" };
    const refusals = await Promise.all([
      rlm.createAnalysis({ query: "q", context: "d", webhook }).catch((error) => error),
      rlm.uploadAnalysis({ query: "q", document: "d", webhook }).catch((error) => error),
    ]);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(RlmApiError);
      expect(refusal).toMatchObject({ status: 400, code: "invalid_request", retryable: false });
      expect(refusal.message).toMatch(/RLM_WEBHOOK_SECRET/);
    }
  });

  it("lists analyses page by page, by status and creation time", async () => {
    const startedAt = new Date(Date.now() - 1);
    const made = [];
    for (let i = 0; i < 3; i += 1) {
      made.push((await rlm.createAnalysis({ query: `listed ${i}`, context: "a b c" })).id);
    }
    const page = await rlm.listAnalyses({ since: startedAt, limit: 2 });
    checker.checkResponse("/v1/analyses", "get", 200, page);
    expect(page.data).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    const recent = [];
    for await (const analysis of rlm.analyses({ since: startedAt, limit: 2 })) {
      recent.push(analysis.id);
    }
    expect(new Set(recent)).toEqual(new Set(made));
    // Everything the earlier tests ran, found by status across pages.
    const completed = [];
    for await (const analysis of rlm.analyses({ status: ["completed"], limit: 1 })) {
      expect(analysis.status).toBe("completed");
      completed.push(analysis);
    }
    expect(completed.length).toBeGreaterThanOrEqual(3);
    const bad = await rlm.listAnalyses({ limit: 500 }).catch((error) => error);
    expect(bad).toMatchObject({ status: 400, code: "invalid_request" });
    for (const id of made) await rlm.cancelAnalysis(id).catch(() => undefined);
  });

  it("reports a cancelled analysis, and a wait that times out, as RlmApiErrors", async () => {
    mock.configure({ latencyMs: 400 });
    try {
      const { id } = await rlm.createAnalysis({
        query: "Summarize it.",
        context: "a b c ".repeat(500),
      });
      const timedOut = await rlm.waitForResult(id, { timeoutMs: 100 }).catch((error) => error);
      expect(timedOut).toBeInstanceOf(RlmApiError);
      expect(timedOut).toMatchObject({ code: "timeout", retryable: true, analysisId: id });
      const waiting = rlm.waitForResult(id, { timeoutMs: 30_000 }).catch((error) => error);
      expect(["cancelled", "requested"]).toContain((await rlm.cancelAnalysis(id)).outcome);
      expect(await waiting).toMatchObject({ code: "cancelled", retryable: false });
      const late = await rlm.cancelAnalysis(id).catch((error) => error);
      expect(late).toMatchObject({ code: "already_finished", status: 409 });
    } finally {
      mock.configure({ latencyMs: 5 });
    }
  });

  it("turns error answers and unreachable servers into RlmApiErrors with code and retryable", async () => {
    const missing = await rlm.getAnalysis("an_missing").catch((error) => error);
    expect(missing).toMatchObject({ code: "not_found", status: 404, retryable: false });
    const noStream = await (async () => {
      for await (const message of rlm.events("an_missing")) return message;
    })().catch((error) => error);
    expect(noStream).toMatchObject({ code: "not_found", status: 404 });
    const invalid = await rlm.createAnalysis({ query: "", context: "x" }).catch((error) => error);
    expect(invalid).toMatchObject({ code: "invalid_request", status: 400 });
    expect(invalid.message).toMatch(/query/);
    const stranger = new RlmClient({ baseUrl, token: "wrong" });
    expect(await stranger.getAnalysis("an_x").catch((error) => error)).toMatchObject({
      code: "unauthorized",
      status: 401,
    });
    // A port nothing listens on (the API's own, once closed, would do; this is quicker).
    const nowhere = new RlmClient({ baseUrl: "http://127.0.0.1:9", token });
    expect(await nowhere.getAnalysis("an_x").catch((error) => error)).toMatchObject({
      code: "network_error",
      retryable: true,
    });
  });
});
