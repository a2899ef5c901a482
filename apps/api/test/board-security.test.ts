import { queuePrefix } from "@rlm/queue";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_COOKIE, ADMIN_SESSION_SECONDS } from "../src/admin-auth.js";
import { BULL_BOARD_POLICY } from "../src/bull-board.js";
import { TokenVerifier } from "../src/token-verifier.js";
import {
  AUTH,
  deleteKeysUnder,
  REDIS_OPTIONS,
  TOKEN,
  testServer,
  uniquePrefix,
} from "./helpers.js";

// Bull Board: the viewer's security headers, read-only unless RLM_BOARD_WRITE=1, state
// changes only with the Authorization header or from this server's own pages, and a
// session cookie that is signed, scoped and never the token.

const prefix = uniquePrefix("board");
const HOST = "api.example:3000";
let readOnly: FastifyInstance;
let writable: FastifyInstance;
let queue: Queue;

beforeAll(async () => {
  readOnly = testServer(prefix);
  writable = testServer(prefix, { boardWrite: true });
  await Promise.all([readOnly.ready(), writable.ready()]);
  queue = new Queue("rlm-llm", { connection: REDIS_OPTIONS, prefix: queuePrefix(prefix) });
});

afterAll(async () => {
  await Promise.all([readOnly.close(), writable.close(), queue.close()]);
  await deleteKeysUnder(prefix);
});

/** A job in the `delayed` state: what "promote" acts on. */
async function delayedJob(): Promise<string> {
  const job = await queue.add("board-test", { n: 1 }, { delay: 3_600_000 });
  return job.id!;
}

function promote(app: FastifyInstance, id: string, headers: Record<string, string>, url = "") {
  return app.inject({
    method: "PUT",
    url: `/admin/queues/api/queues/rlm-llm/${id}/promote${url}`,
    headers: { host: HOST, ...headers },
  });
}

async function login(app: FastifyInstance, path = "/admin/queues"): Promise<string> {
  const res = await app.inject({ url: `${path}?token=${encodeURIComponent(TOKEN)}` });
  expect(res.statusCode).toBe(303);
  return String(res.headers["set-cookie"]);
}

describe("Bull Board's headers", () => {
  it("are the viewer's: helmet's set, a strict CSP, no caching", async () => {
    for (const url of ["/admin/queues", "/admin/queues/api/queues"]) {
      const res = await readOnly.inject({ url, headers: AUTH });
      expect(res.statusCode).toBe(200);
      expect(res.headers).toMatchObject({
        "content-security-policy": BULL_BOARD_POLICY,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-store",
      });
    }
    // Refusals carry them too.
    const refused = await readOnly.inject({ url: "/admin/queues" });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers["content-security-policy"]).toBe(BULL_BOARD_POLICY);
    // The viewer's pages keep their own nonce'd policy, with the same other headers.
    const viewer = await readOnly.inject({ url: "/admin/viewer", headers: AUTH });
    expect(viewer.headers["content-security-policy"]).toMatch(/script-src 'nonce-/);
    expect(viewer.headers).toMatchObject({
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
    });
  });
});

describe("read-only by default", () => {
  it("shows the queues as read-only and refuses every change, even with the header", async () => {
    const queues = await readOnly.inject({ url: "/admin/queues/api/queues", headers: AUTH });
    const listed = (queues.json() as { queues: Array<{ readOnlyMode: boolean }> }).queues;
    expect(listed.every((q) => q.readOnlyMode)).toBe(true);

    const id = await delayedJob();
    const res = await promote(readOnly, id, AUTH);
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toEqual({
      code: "forbidden",
      message: expect.stringMatching(/RLM_BOARD_WRITE=1/),
    });
    expect(await (await queue.getJob(id))?.getState()).toBe("delayed");
    for (const url of [
      "/admin/queues/api/queues/pause",
      "/admin/queues/api/queues/rlm-root/clean/completed",
    ]) {
      const change = await readOnly.inject({ method: "PUT", url, headers: AUTH });
      expect(change.statusCode).toBe(403);
    }
  });
});

describe("with RLM_BOARD_WRITE=1, a change", () => {
  it("is accepted with the Authorization header", async () => {
    const id = await delayedJob();
    const res = await promote(writable, id, AUTH);
    expect(res.statusCode).toBe(204);
    expect(await (await queue.getJob(id))?.getState()).toBe("waiting");
  });

  it("is accepted with the cookie from this server's own page, refused from another site", async () => {
    const cookie = (await login(writable)).split(";")[0]!;
    const sameSite: Array<Record<string, string>> = [
      { "sec-fetch-site": "same-origin" },
      { origin: `http://${HOST}` },
    ];
    for (const browser of sameSite) {
      const id = await delayedJob();
      expect((await promote(writable, id, { cookie, ...browser })).statusCode).toBe(204);
    }
    const foreign: Array<Record<string, string>> = [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "https://evil.example" },
      { origin: "null" },
      // No browser said where it comes from: the cookie alone is not enough.
      {},
    ];
    const id = await delayedJob();
    for (const browser of foreign) {
      const res = await promote(writable, id, { cookie, ...browser });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe("forbidden");
    }
    // The header from another site is refused as well.
    expect(
      (await promote(writable, id, { ...AUTH, origin: "https://evil.example" })).statusCode,
    ).toBe(403);
    expect(await (await queue.getJob(id))?.getState()).toBe("delayed");
  });

  it("never takes the token from the query string", async () => {
    const id = await delayedJob();
    const res = await promote(writable, id, { "sec-fetch-site": "same-origin" }, `?token=${TOKEN}`);
    expect(res.statusCode).toBe(401);
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(await (await queue.getJob(id))?.getState()).toBe("delayed");
  });
});

describe("the session cookie", () => {
  it("is HttpOnly, SameSite=Strict, expires, and holds a signature, not the token", async () => {
    const setCookie = await login(readOnly);
    expect(setCookie).toMatch(new RegExp(`^${ADMIN_COOKIE}=`));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(new RegExp(`; Max-Age=${ADMIN_SESSION_SECONDS}`));
    expect(setCookie).toMatch(/; Path=\/admin;/);
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toContain(encodeURIComponent(TOKEN));
  });

  it("is refused when altered, expired, made for another path, or signed with another token", async () => {
    const value = (await login(readOnly)).split(";")[0]!.split("=")[1]!;
    const [expires, signature] = value.split(".") as [string, string];
    const verifier = new TokenVerifier(TOKEN);
    const past = Math.floor(Date.now() / 1000) - 10;
    const docsValue = (await login(readOnly, "/docs")).split(";")[0]!.split("=")[1]!;
    const forged = [
      `${Number(expires) + 3600}.${signature}`,
      `${past}.${verifier.sign(`admin-session\n/admin\n${past}`)}`,
      docsValue,
      `${expires}.${new TokenVerifier("another-token").sign(`admin-session\n/admin\n${expires}`)}`,
      TOKEN,
      encodeURIComponent(TOKEN),
    ];
    const accepted = await readOnly.inject({
      url: "/admin/queues/api/queues",
      headers: { cookie: `${ADMIN_COOKIE}=${value}` },
    });
    expect(accepted.statusCode).toBe(200);
    for (const cookie of forged) {
      const res = await readOnly.inject({
        url: "/admin/queues/api/queues",
        headers: { cookie: `${ADMIN_COOKIE}=${cookie}` },
      });
      expect(res.statusCode).toBe(401);
    }
  });
});
