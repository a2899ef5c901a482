import { AnalysisReporter, RedisJournal } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_COOKIE, type Trajectory } from "../src/index.js";
import { sampleResult, writeSampleJournal } from "./fixtures.js";
import {
  AUTH,
  deleteKeysUnder,
  REDIS_OPTIONS,
  TOKEN,
  testServer,
  uniquePrefix,
} from "./helpers.js";

const prefix = uniquePrefix("viewer");
/** Ends a script element and starts one: what an unescaped page would run. */
const HOSTILE = `</script><script>alert("pwned")</script>`;
let app: FastifyInstance;
let redis: Redis;
let finishedId: string;
let runningId: string;

async function createAnalysis(query: string): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/v1/analyses",
    headers: AUTH,
    payload: { query, context: "a document" },
  });
  expect(res.statusCode).toBe(202);
  const body = res.json() as { id: string; links: { viewer: string } };
  expect(body.links.viewer).toBe(`/admin/viewer/${body.id}`);
  return body.id;
}

beforeAll(async () => {
  app = testServer(prefix);
  await app.ready();
  redis = new Redis(REDIS_OPTIONS);

  finishedId = await createAnalysis(`Who <b>wins</b>? ${HOSTILE}`);
  await writeSampleJournal(new RedisJournal({ redis, analysisId: finishedId, prefix }), HOSTILE);
  const reporter = new AnalysisReporter({ redis, analysisId: finishedId, prefix });
  await reporter.running();
  await reporter.complete(sampleResult(`The answer ${HOSTILE}`));

  runningId = await createAnalysis("still going");
  await new AnalysisReporter({ redis, analysisId: runningId, prefix }).running();
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
  await redis.quit();
});

function page(id: string, headers: Record<string, string> = AUTH) {
  return app.inject({ method: "GET", url: `/admin/viewer/${id}`, headers });
}

function trajectoryJson(id: string, headers: Record<string, string> = AUTH) {
  return app.inject({ method: "GET", url: `/admin/api/analyses/${id}/trajectory`, headers });
}

describe("viewer authentication", () => {
  it("answers 401 without a token, on the page, the list and the JSON", async () => {
    for (const url of [
      `/admin/viewer/${finishedId}`,
      "/admin/viewer",
      `/admin/api/analyses/${finishedId}/trajectory`,
    ]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
    const wrong = await page(finishedId, { authorization: "Bearer nope" });
    expect(wrong.statusCode).toBe(401);
  });

  it("serves the page with the Bearer header", async () => {
    const res = await page(finishedId);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["content-security-policy"]).toMatch(/script-src 'nonce-/);
  });

  it("takes ?token= once; its cookie (Path=/admin) opens the viewer and Bull Board", async () => {
    const first = await app.inject({
      method: "GET",
      url: `/admin/viewer/${finishedId}?token=${encodeURIComponent(TOKEN)}`,
    });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe(`/admin/viewer/${finishedId}`);
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/admin;/);
    const cookie = { cookie: setCookie.split(";")[0]! };

    expect((await page(finishedId, cookie)).statusCode).toBe(200);
    expect((await trajectoryJson(finishedId, cookie)).statusCode).toBe(200);
    const board = await app.inject({ method: "GET", url: "/admin/queues", headers: cookie });
    expect(board.statusCode).toBe(200);
    // The admin cookie is for the admin UI only.
    const api = await app.inject({
      method: "GET",
      url: `/v1/analyses/${finishedId}`,
      headers: cookie,
    });
    expect(api.statusCode).toBe(401);
    const forged = await page(finishedId, { cookie: `${ADMIN_COOKIE}=nope` });
    expect(forged.statusCode).toBe(401);
  });
});

describe("GET /admin/viewer/:id", () => {
  it("escapes query, model output and answer: no raw tag from the data reaches the page", async () => {
    const html = (await page(finishedId)).body;
    expect(html).not.toContain(`<script>alert("pwned")`);
    expect(html).not.toContain("</script><script>alert");
    expect(html).not.toContain("<b>wins</b>");
    // Escaped for HTML in the heading and the title…
    expect(html).toContain("Who &lt;b&gt;wins&lt;/b&gt;? &lt;/script&gt;&lt;script&gt;alert(");
    // …and for a script element in the embedded JSON, which the client reads back.
    const json = /<script type="application\/json" id="rlm-data">([^<]*)<\/script>/.exec(html);
    expect(json, "embedded trajectory").not.toBeNull();
    const embedded = JSON.parse(json![1]!) as Trajectory;
    expect(embedded.query).toBe(`Who <b>wins</b>? ${HOSTILE}`);
    expect(embedded.root.iterations[0]!.cells[0]!.output).toBe(`printed${HOSTILE}`);
    expect(embedded.outcome!.answer).toBe(`The answer ${HOSTILE}`);
    // Only our two script elements: the data block and the nonce'd client.
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it("answers an HTML 404 for an unknown analysis and 400 for an impossible id", async () => {
    const missing = await page("an_doesnotexist");
    expect(missing.statusCode).toBe(404);
    expect(missing.headers["content-type"]).toMatch(/^text\/html/);
    const bad = await app.inject({ method: "GET", url: "/admin/viewer/a:b", headers: AUTH });
    expect(bad.statusCode).toBe(400);
  });
});

describe("GET /admin/api/analyses/:id/trajectory", () => {
  it("returns the record and journal by iteration", async () => {
    const res = await trajectoryJson(finishedId);
    expect(res.statusCode).toBe(200);
    const body = res.json() as Trajectory;
    expect(body).toMatchObject({ id: finishedId, status: "completed", terminal: true });
    expect(body.outcome).toMatchObject({ finishReason: "final", totalCalls: 5 });
    expect(body.root.iterations.map((it) => it.iteration)).toEqual([1, 2, 3]);
    expect(body.root.iterations[0]!.cells[0]!.subCalls[1]!.nested!.iterations).toHaveLength(1);
  });

  it("answers 304 to a matching If-None-Match, and changes its ETag as the journal grows", async () => {
    const first = await trajectoryJson(runningId);
    expect(first.statusCode).toBe(200);
    expect((first.json() as Trajectory).root.iterations).toEqual([]);
    const etag = String(first.headers.etag);
    const again = await trajectoryJson(runningId, { ...AUTH, "if-none-match": etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");

    await writeSampleJournal(new RedisJournal({ redis, analysisId: runningId, prefix }));
    const grown = await trajectoryJson(runningId, { ...AUTH, "if-none-match": etag });
    expect(grown.statusCode).toBe(200);
    expect(grown.headers.etag).not.toBe(etag);
    expect((grown.json() as Trajectory).root.iterations).toHaveLength(3);
  });

  it("answers 404 for an unknown analysis", async () => {
    const res = await trajectoryJson("an_doesnotexist");
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });
});

describe("GET /admin/viewer", () => {
  it("lists recent root analyses, newest first, escaped, linked to their pages", async () => {
    const res = await app.inject({ method: "GET", url: "/admin/viewer", headers: AUTH });
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(html).toContain(`href="viewer/${finishedId}"`);
    expect(html).toContain(`href="viewer/${runningId}"`);
    expect(html.indexOf(runningId)).toBeLessThan(html.indexOf(finishedId));
    expect(html).not.toContain(`<script>alert("pwned")`);
    expect(html).toContain("Who &lt;b&gt;wins&lt;/b&gt;?");
    expect(html).toContain("status-completed");
    // Finish reason, duration and cost from the result; the page refreshes itself.
    const finishedRow = html.slice(html.indexOf(`viewer/${finishedId}`));
    expect(finishedRow).toMatch(/<td>final<\/td>\s*<td class="num">4\.3 s<\/td>/);
    expect(html).toMatch(/<script nonce="[^"]+">/);
  });

  it("narrows the list by status, and refuses an unknown status", async () => {
    const done = await app.inject({ url: "/admin/viewer?status=completed", headers: AUTH });
    expect(done.body).toContain(`viewer/${finishedId}`);
    expect(done.body).not.toContain(`viewer/${runningId}`);
    const active = await app.inject({ url: "/admin/viewer?status=active", headers: AUTH });
    expect(active.body).toContain(`viewer/${runningId}`);
    expect(active.body).not.toContain(`viewer/${finishedId}`);
    const bad = await app.inject({ url: "/admin/viewer?status=nope", headers: AUTH });
    expect(bad.statusCode).toBe(400);
  });
});

describe("the viewer's actions", () => {
  it("downloads the trajectory as a file", async () => {
    const res = await app.inject({
      url: `/admin/api/analyses/${finishedId}/trajectory?download=1`,
      headers: AUTH,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toBe(
      `attachment; filename="${finishedId}.trajectory.json"`,
    );
    expect((res.json() as Trajectory).id).toBe(finishedId);
  });

  it("cancels from the page with a JSON POST only", async () => {
    const id = await createAnalysis("to cancel");
    const url = `/admin/api/analyses/${id}/cancel`;
    const form = await app.inject({
      method: "POST",
      url,
      headers: { ...AUTH, "content-type": "application/x-www-form-urlencoded" },
      payload: "a=1",
    });
    expect(form.statusCode).toBe(415);
    const json = { ...AUTH, "content-type": "application/json" };
    const res = await app.inject({ method: "POST", url, headers: json, payload: "{}" });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id, outcome: "cancelled" });
    const again = await app.inject({ method: "POST", url, headers: json, payload: "{}" });
    expect(again.statusCode).toBe(409);
    const unknown = await app.inject({
      method: "POST",
      url: "/admin/api/analyses/an_doesnotexist/cancel",
      headers: json,
      payload: "{}",
    });
    expect(unknown.statusCode).toBe(404);
    const anonymous = await app.inject({ method: "POST", url, payload: {} });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe("Bull Board", () => {
  it("is served with a CSP that allows no other host, and without its font links", async () => {
    const res = await app.inject({ url: "/admin/queues", headers: AUTH });
    expect(res.statusCode).toBe(200);
    const policy = String(res.headers["content-security-policy"]);
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("font-src 'self' data:");
    expect(res.body).not.toContain("fonts.googleapis.com");
    expect(res.body).toContain("RLM Queue");
    // Its menu links back to the viewer.
    expect(res.body).toContain('"miscLinks":[{"text":"Trajectory viewer","url":"/admin/viewer"}]');
  });

  it("links each job to its analysis in the viewer and labels its context", async () => {
    const res = await app.inject({
      url: `/admin/queues/api/queues/rlm-root/${finishedId}`,
      headers: AUTH,
    });
    expect(res.statusCode).toBe(200);
    const text = res.body;
    expect(text).toContain(`/admin/viewer/${finishedId}`);
    expect(text).toMatch(/text, 10 chars \(document [0-9a-f]{12}…\)/);
  });
});
