import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { createRootQueue, type RlmWorker, type RootQueue, startRlmWorker } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trajectory } from "../src/index.js";
import {
  AUTH,
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
} from "./helpers.js";
import { OpenApiChecker, type OpenApiDocument } from "./openapi-checker.js";

// The session routes over HTTP, with a worker in this process and the mock LLM: the
// document stored once, questions asked as analyses, the session's view, errors.
const prefix = uniquePrefix("sessions");
const DOCUMENT = Array.from(
  { length: 600 },
  (_, line) => `line ${line}: pallet ${line % 9 === 0 ? "ERR-77 " : ""}left the dock`,
).join("\n");
const countOf = (term: string) => DOCUMENT.split(term).length - 1;
const ask = (term: string) => `How many times does "${term}" appear?`;

let app: FastifyInstance;
let baseUrl: string;
let mock: MockLlmServer;
let worker: RlmWorker;
let rootQueue: RootQueue;
let checker: OpenApiChecker;
let redis: Redis;

beforeAll(async () => {
  // Chunks of 6,000 characters: each question is a fan-out of sub-calls.
  mock = await startMockLlmServer({
    strategy: "map-reduce",
    chunkChars: 6_000,
    habits: ["session-aware"],
  });
  app = testServer(prefix);
  baseUrl = await listen(app);
  worker = await startRlmWorker({
    connection: REDIS_OPTIONS,
    prefix,
    model: { baseURL: mock.url, apiKey: "test-key" },
    defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  });
  rootQueue = createRootQueue({ connection: REDIS_OPTIONS, prefix });
  redis = new Redis(REDIS_OPTIONS);
  const res = await app.inject({ method: "GET", url: "/v1/openapi.json", headers: AUTH });
  checker = new OpenApiChecker(res.json() as OpenApiDocument);
});

afterAll(async () => {
  await worker?.close({ timeoutMs: 5_000 });
  await rootQueue?.close();
  await app?.close();
  await mock?.stop();
  await deleteKeysUnder(prefix);
  await redis?.quit();
});

async function post(path: string, body: string | FormData, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { ...AUTH, ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as never };
}

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  post(path, JSON.stringify(body), { "content-type": "application/json", ...headers });

async function get<T>(path: string): Promise<{ status: number; json: T }> {
  const res = await fetch(`${baseUrl}${path}`, { headers: AUTH });
  return { status: res.status, json: (await res.json()) as T };
}

interface Session {
  id: string;
  deduplicated?: boolean;
  questions: Array<{ analysisId: string; status: string; answer?: string; position: number }>;
}

/** Waits on the analysis's event stream until it ends (the route the clients use). */
async function waitEnded(id: string): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/analyses/${id}/events`, { headers: AUTH });
  await res.text(); // the stream ends after the terminal event
}

describe("sessions over HTTP", () => {
  it("creates a session from JSON, multipart or text, the document stored once", async () => {
    const json = await postJson("/v1/sessions", { context: DOCUMENT });
    expect(json.status).toBe(201);
    const created = json.json as Session;
    expect(created).toMatchObject({ id: expect.stringMatching(/^se_/), questions: [] });
    expect(json.headers.get("location")).toBe(`/v1/sessions/${created.id}`);
    checker.checkResponse("/v1/sessions", "post", 201, created);

    const form = new FormData();
    form.append("options", JSON.stringify({ maxIterations: 5 }));
    form.append("context", new Blob([DOCUMENT], { type: "text/plain" }), "report.txt");
    const multipart = await post("/v1/sessions", form);
    expect(multipart.status).toBe(201);
    const text = await post(
      `/v1/sessions?options=${encodeURIComponent(JSON.stringify({ maxDepth: 1 }))}`,
      DOCUMENT,
      { "content-type": "text/plain; charset=utf-8" },
    );
    expect(text.status).toBe(201);
    const ids = [created, multipart.json as Session, text.json as Session].map(({ id }) => id);
    expect(new Set(ids).size).toBe(3);
    // One stored document for the three.
    expect(await redis.keys(`${prefix}:ctx:*`)).toHaveLength(1);
  });

  it("asks questions as analyses: run in order, each REPL from the earlier ones, the session's view", async () => {
    const { id } = (await postJson("/v1/sessions", { context: DOCUMENT })).json as Session;
    const first = await postJson(`/v1/sessions/${id}/analyses`, { query: ask("ERR-77") });
    const second = await postJson(`/v1/sessions/${id}/analyses`, {
      query: ask("pallet"),
      options: { maxIterations: 6 },
    });
    expect([first.status, second.status]).toEqual([202, 202]);
    const q1 = first.json as { id: string; position: number; sessionId: string };
    const q2 = second.json as { id: string; position: number };
    expect(q1).toMatchObject({ id: expect.stringMatching(/^an_/), sessionId: id, position: 0 });
    expect(q2.position).toBe(1);
    expect(first.headers.get("location")).toBe(`/v1/analyses/${q1.id}`);
    checker.checkResponse("/v1/sessions/{id}/analyses", "post", 202, first.json);
    // Each question is a root job like any other, named for its session.
    expect((await rootQueue.getJob(q2.id))?.name).toContain(`question 2 of ${id}`);

    await waitEnded(q2.id);
    const view = await get<Session>(`/v1/sessions/${id}`);
    expect(view.status).toBe(200);
    checker.checkResponse("/v1/sessions/{id}", "get", 200, view.json);
    expect(view.json.questions.map(({ status, answer }) => [status, answer?.trim()])).toEqual([
      ["completed", String(countOf("ERR-77"))],
      ["completed", String(countOf("pallet"))],
    ]);
    const result = (await get<{ result: ResultLike }>(`/v1/analyses/${q2.id}`)).json.result;
    expect(result.replHistory[0]?.output).toContain("question 2 of a session; history: 1");
    expect(result.replHistory[0]?.output).toContain(`earlier total: ${countOf("ERR-77")}`);
    // The viewer places the question's sub-calls (cell keys q1/…) under their cells.
    const trajectory = (await get<Trajectory>(`/admin/api/analyses/${q2.id}/trajectory`)).json;
    const fanOut = trajectory.root.iterations[1]?.cells[0];
    expect(fanOut?.subCalls.length).toBe(Math.ceil(DOCUMENT.length / 6_000));
    expect(fanOut?.subCalls.every((sub) => sub.state === "ok")).toBe(true);
  });

  it("answers a retried request with its idempotency key, and a different one with a 422", async () => {
    const key = { "idempotency-key": "session-key-1" };
    const created = await postJson("/v1/sessions", { context: DOCUMENT }, key);
    const again = await postJson("/v1/sessions", { context: DOCUMENT }, key);
    expect(again.json).toMatchObject({ id: (created.json as Session).id, deduplicated: true });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await postJson("/v1/sessions", { context: "another" }, key)).status).toBe(422);

    const { id } = created.json as Session;
    const asked = await postJson(`/v1/sessions/${id}/analyses`, { query: ask("dock") }, key);
    const retried = await postJson(`/v1/sessions/${id}/analyses`, { query: ask("dock") }, key);
    expect(retried.json).toMatchObject({ id: (asked.json as Session).id, deduplicated: true });
    const other = await postJson(`/v1/sessions/${id}/analyses`, { query: ask("line") }, key);
    expect(other.status).toBe(422);
    await waitEnded((asked.json as Session).id);
    expect((await get<Session>(`/v1/sessions/${id}`)).json.questions).toHaveLength(1);
  });

  it("answers bad requests with 4xx and a message", async () => {
    const { id } = (await postJson("/v1/sessions", { context: DOCUMENT })).json as Session;
    const cases: Array<[Promise<{ status: number; json: never }>, number]> = [
      [postJson("/v1/sessions", { context: "" }), 400],
      [postJson("/v1/sessions", { context: DOCUMENT, query: "not here" }), 400],
      [postJson("/v1/sessions", { context: DOCUMENT, options: { maxIterations: 0 } }), 400],
      [postJson(`/v1/sessions/${id}/analyses`, {}), 400],
      [postJson(`/v1/sessions/${id}/analyses`, { query: "Why?", context: "x" }), 400],
      [post(`/v1/sessions/${id}/analyses`, "Why?", { "content-type": "text/plain" }), 415],
      [postJson("/v1/sessions/se_aaaaaaaaaaaaaaaaaaaa/analyses", { query: "Why?" }), 404],
      [get("/v1/sessions/se_aaaaaaaaaaaaaaaaaaaa"), 404],
      [get("/v1/sessions/bad:id"), 400],
    ];
    for (const [request, status] of cases) {
      const res = await request;
      expect(res.status).toBe(status);
      expect(res.json).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    const anonymous = await fetch(`${baseUrl}/v1/sessions/${id}`);
    expect(anonymous.status).toBe(401);
  });
});

interface ResultLike {
  replHistory: Array<{ output: string }>;
}
