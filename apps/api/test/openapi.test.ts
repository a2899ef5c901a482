import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS_CONTENT_SECURITY_POLICY, isUndocumentedRoute } from "../src/openapi.js";
import { AUTH, deleteKeysUnder, TOKEN, testServer, uniquePrefix } from "./helpers.js";
import { OpenApiChecker, type OpenApiDocument } from "./openapi-checker.js";

const prefix = uniquePrefix("openapi");
let app: FastifyInstance;
let document: OpenApiDocument;
let checker: OpenApiChecker;
/** Every route the server declares, as Fastify sees it. */
const routes: { method: string; url: string }[] = [];

beforeAll(async () => {
  app = testServer(prefix);
  // Routes are declared when the server's plugins load, after this hook is in place.
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await app.ready();
  const res = await app.inject({ method: "GET", url: "/v1/openapi.json", headers: AUTH });
  expect(res.statusCode).toBe(200);
  document = res.json() as OpenApiDocument;
  checker = new OpenApiChecker(document);
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
});

/** `/v1/analyses/:id` → `/v1/analyses/{id}`. */
function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, "{$1}");
}

describe("the OpenAPI document", () => {
  it("is served at /v1/openapi.json behind the bearer token", async () => {
    const anonymous = await app.inject({ method: "GET", url: "/v1/openapi.json" });
    expect(anonymous.statusCode).toBe(401);
    expect(document.openapi).toBe("3.1.0");
    checker.checkResponse("/v1/openapi.json", "get", 200, document);
  });

  it("lists every route but the browser UIs, each with an id, its parameters and responses", () => {
    const documented = routes.filter(
      (route) => route.method !== "HEAD" && !isUndocumentedRoute(route.url),
    );
    // The routes of today; a new one fails the loop below until it carries a schema.
    expect(documented.map((route) => `${route.method} ${route.url}`).sort()).toEqual(
      expect.arrayContaining([
        "DELETE /v1/analyses/:id",
        "GET /health",
        "GET /v1/analyses",
        "GET /v1/analyses/:id",
        "GET /v1/analyses/:id/events",
        "GET /v1/models",
        "GET /v1/openapi.json",
        "POST /v1/analyses",
        "GET /v1/sessions/:id",
        "POST /v1/sessions",
        "POST /v1/sessions/:id/analyses",
        "POST /v1/chat/completions",
      ]),
    );
    const operationIds = new Set<string>();
    for (const route of documented) {
      const operation = checker.operation(openApiPath(route.url), route.method);
      expect(operation.operationId, `${route.method} ${route.url}`).toBeTruthy();
      operationIds.add(operation.operationId!);
      for (const [, name] of route.url.matchAll(/:(\w+)/g)) {
        expect(operation.parameters).toContainEqual(expect.objectContaining({ in: "path", name }));
      }
      const statuses = Object.keys(operation.responses);
      const success = statuses.filter((status) => status.startsWith("2"));
      expect(success.length, `${route.method} ${route.url} success`).toBeGreaterThan(0);
      for (const status of statuses) {
        const content = operation.responses[status]?.content ?? {};
        expect(Object.keys(content).length, `${route.url} ${status}`).toBeGreaterThan(0);
      }
    }
    expect(operationIds.size).toBe(documented.length);
    // And nothing in the document that the server does not serve.
    const served = new Set(
      documented.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`),
    );
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) expect(served).toContain(`${method} ${path}`);
    }
  });

  it("documents the three bodies of POST /v1/analyses", () => {
    const body = checker.operation("/v1/analyses", "post").requestBody;
    expect(Object.keys(body?.content ?? {}).sort()).toEqual([
      "application/json",
      "multipart/form-data",
      "text/plain",
    ]);
    const multipart = body?.content["multipart/form-data"]?.schema as {
      properties: Record<string, unknown>;
    };
    expect(Object.keys(multipart.properties).sort()).toEqual(
      ["context", "idempotencyKey", "options", "query", "webhook"].sort(),
    );
  });

  it("documents the three bodies of POST /v1/sessions, and JSON for its questions", () => {
    const body = checker.operation("/v1/sessions", "post").requestBody;
    expect(Object.keys(body?.content ?? {}).sort()).toEqual([
      "application/json",
      "multipart/form-data",
      "text/plain",
    ]);
    const question = checker.operation("/v1/sessions/{id}/analyses", "post").requestBody;
    expect(Object.keys(question?.content ?? {})).toEqual(["application/json"]);
  });

  it("matches the answers the server gives (accepted, view, cancel, errors, health)", async () => {
    const created = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: ["a", "b"], options: { maxIterations: 3 } },
    });
    expect(created.statusCode).toBe(202);
    checker.checkResponse("/v1/analyses", "post", 202, created.json());
    const { id } = created.json() as { id: string };

    const view = await app.inject({ method: "GET", url: `/v1/analyses/${id}`, headers: AUTH });
    checker.checkResponse("/v1/analyses/{id}", "get", 200, view.json());

    const cancel = await app.inject({ method: "DELETE", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(cancel.statusCode).toBe(202);
    checker.checkResponse("/v1/analyses/{id}", "delete", 202, cancel.json());
    const again = await app.inject({ method: "DELETE", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(again.statusCode).toBe(409);
    checker.checkResponse("/v1/analyses/{id}", "delete", 409, again.json());

    const cancelled = await app.inject({ method: "GET", url: `/v1/analyses/${id}`, headers: AUTH });
    expect(cancelled.json()).toMatchObject({ status: "cancelled" });
    checker.checkResponse("/v1/analyses/{id}", "get", 200, cancelled.json());

    const invalid = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q" },
    });
    expect(invalid.statusCode).toBe(400);
    checker.checkResponse("/v1/analyses", "post", 400, invalid.json());
    const missing = await app.inject({ method: "GET", url: "/v1/analyses/an_none", headers: AUTH });
    checker.checkResponse("/v1/analyses/{id}", "get", 404, missing.json());
    const anonymous = await app.inject({ method: "GET", url: "/v1/analyses/an_none" });
    checker.checkResponse("/v1/analyses/{id}", "get", 401, anonymous.json());

    const health = await app.inject({ method: "GET", url: "/health" });
    checker.checkResponse("/health", "get", health.statusCode, health.json());
  });

  it("fails an answer with a field its schema lacks (the check can fail)", () => {
    expect(() =>
      checker.checkResponse("/v1/analyses/{id}", "delete", 202, {
        id: "an_x",
        outcome: "requested",
        extra: 1,
      }),
    ).toThrow(/additional/);
    expect(() => checker.checkComponent("AnalysisEvent", { type: "status" })).toThrow();
  });
});

describe("the docs page", () => {
  it("needs the token: Bearer, or ?token= once then a cookie scoped to /docs", async () => {
    expect((await app.inject({ method: "GET", url: "/docs" })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/docs/json" })).statusCode).toBe(401);
    const login = await app.inject({ method: "GET", url: `/docs?token=${TOKEN}` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe("/docs");
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(/Path=\/docs;/);
    expect(cookie).toMatch(/HttpOnly/);
    const page = await app.inject({
      method: "GET",
      url: "/docs",
      headers: { cookie: cookie.split(";")[0]! },
    });
    expect(page.statusCode).toBe(200);
  });

  it("is Swagger UI from this server's own files, under a strict policy", async () => {
    const page = await app.inject({ method: "GET", url: "/docs", headers: AUTH });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.headers["content-security-policy"]).toBe(DOCS_CONTENT_SECURITY_POLICY);
    expect(DOCS_CONTENT_SECURITY_POLICY).not.toMatch(/https?:|\*|unsafe/);
    expect(page.body).toContain('id="swagger-ui"');
    // Every script and stylesheet it loads is a file of this server, and is served.
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\//);
      const res = await app.inject({ method: "GET", url: asset, headers: AUTH });
      expect(res.statusCode, asset).toBe(200);
    }
    const initializer = await app.inject({
      method: "GET",
      url: "/docs/static/swagger-initializer.js",
      headers: AUTH,
    });
    // No validator badge (it would call an outside host); the document comes from ./json.
    expect(initializer.body).toMatch(/validatorUrl: null/);
    const spec = await app.inject({ method: "GET", url: "/docs/json", headers: AUTH });
    expect(spec.json()).toEqual(document);
  });
});
