import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_COOKIE } from "../src/index.js";
import { AUTH, deleteKeysUnder, TOKEN, testServer, uniquePrefix } from "./helpers.js";

const prefix = uniquePrefix("auth");
let app: FastifyInstance;

beforeAll(async () => {
  app = testServer(prefix);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
});

describe("bearer authentication", () => {
  it("answers 401 without a token", async () => {
    const res = await app.inject({ method: "GET", url: "/v1/analyses/an_unknown" });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
  });

  it("answers 401 with a wrong token of the same length", async () => {
    const wrong = `${TOKEN.slice(0, -1)}x`;
    expect(wrong.length).toBe(TOKEN.length);
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { authorization: `Bearer ${wrong}` },
      payload: { query: "q", context: "c" },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
  });

  it("answers 401 with a wrong token of another length, and with another scheme", async () => {
    for (const authorization of ["Bearer short", `Bearer ${TOKEN}extra`, `Basic ${TOKEN}`]) {
      const res = await app.inject({
        method: "DELETE",
        url: "/v1/analyses/an_unknown",
        headers: { authorization },
      });
      expect(res.statusCode).toBe(401);
    }
  });

  it("answers 401 for an unknown /v1 path without a token, 404 with it", async () => {
    const anonymous = await app.inject({ method: "GET", url: "/v1/nothing-here" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Bearer/);
    const known = await app.inject({ method: "GET", url: "/v1/nothing-here", headers: AUTH });
    expect(known.statusCode).toBe(404);
    expect(known.json().error.code).toBe("not_found");
    // Outside /v1 an unknown path is a 404 for anyone.
    expect((await app.inject({ method: "GET", url: "/nothing-here" })).statusCode).toBe(404);
  });

  it("lets the right token through", async () => {
    const res = await app.inject({ method: "GET", url: "/v1/analyses/an_unknown", headers: AUTH });
    expect(res.statusCode).toBe(404);
  });
});

describe("/health", () => {
  it("needs no token and reports Redis ok", async () => {
    const res = await app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", redis: "ok" });
  });
});

describe("Bull Board at /admin/queues", () => {
  it("answers 401 without a token", async () => {
    const res = await app.inject({ method: "GET", url: "/admin/queues" });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
    const api = await app.inject({ method: "GET", url: "/admin/queues/api/queues" });
    expect(api.statusCode).toBe(401);
  });

  it("serves the board with the Bearer header, showing the three queues", async () => {
    const page = await app.inject({ method: "GET", url: "/admin/queues", headers: AUTH });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    const api = await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: AUTH });
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: Array<{ name: string }> }).queues.map((q) => q.name);
    expect(names.sort()).toEqual(["rlm-llm", "rlm-root", "rlm-webhooks"]);
  });

  it("rejects a wrong ?token= without setting a cookie", async () => {
    const res = await app.inject({ method: "GET", url: "/admin/queues?token=wrong" });
    expect(res.statusCode).toBe(401);
    expect(res.headers["set-cookie"]).toBeUndefined();
  });

  it("takes ?token= once, sets an HttpOnly SameSite=Strict cookie, which then works", async () => {
    const first = await app.inject({
      method: "GET",
      url: `/admin/queues?token=${encodeURIComponent(TOKEN)}`,
    });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe("/admin/queues");
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(new RegExp(`^${ADMIN_COOKIE}=`));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    // One cookie for everything under /admin: Bull Board and the viewer.
    expect(setCookie).toMatch(/Path=\/admin;/);
    const cookie = setCookie.split(";")[0]!;

    const page = await app.inject({ method: "GET", url: "/admin/queues", headers: { cookie } });
    expect(page.statusCode).toBe(200);
    const api = await app.inject({
      method: "GET",
      url: "/admin/queues/api/queues",
      headers: { cookie: `other=1; ${cookie}` },
    });
    expect(api.statusCode).toBe(200);

    const forged = await app.inject({
      method: "GET",
      url: "/admin/queues",
      headers: { cookie: `${ADMIN_COOKIE}=nope` },
    });
    expect(forged.statusCode).toBe(401);
  });

  it("does not accept the admin cookie on the API routes", async () => {
    const res = await app.inject({
      method: "GET",
      url: "/v1/analyses/an_unknown",
      headers: { cookie: `${ADMIN_COOKIE}=${encodeURIComponent(TOKEN)}` },
    });
    expect(res.statusCode).toBe(401);
  });
});
