import { AnalysisReporter } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleResult } from "./fixtures.js";
import { AUTH, deleteKeysUnder, REDIS_OPTIONS, testServer, uniquePrefix } from "./helpers.js";
import { OpenApiChecker, type OpenApiDocument } from "./openapi-checker.js";

// GET /v1/analyses: the analyses' index, read a page at a time, over the real route.
const prefix = uniquePrefix("list");
let app: FastifyInstance;
let redis: Redis;
let checker: OpenApiChecker;
/** Ids in creation order. */
const ids: string[] = [];
let middleCreatedAt = "";

interface ListBody {
  data: Array<{ id: string; status: string; query: string; createdAt: string }>;
  nextCursor?: string;
}

async function list(query = ""): Promise<ListBody> {
  const res = await app.inject({ method: "GET", url: `/v1/analyses${query}`, headers: AUTH });
  expect(res.statusCode, res.body).toBe(200);
  checker.checkResponse("/v1/analyses", "get", 200, res.json());
  return res.json() as ListBody;
}

beforeAll(async () => {
  app = testServer(prefix);
  await app.ready();
  redis = new Redis(REDIS_OPTIONS);
  const doc = await app.inject({ method: "GET", url: "/v1/openapi.json", headers: AUTH });
  checker = new OpenApiChecker(doc.json() as OpenApiDocument);
  for (let i = 0; i < 5; i += 1) {
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: `question ${i}`, context: `document ${i}` },
    });
    ids.push((res.json() as { id: string }).id);
    if (i === 2) {
      middleCreatedAt = (
        await app.inject({ method: "GET", url: `/v1/analyses/${ids[2]}`, headers: AUTH })
      ).json<{ createdAt: string }>().createdAt;
    }
    // A millisecond apart at least, so that "newest first" has one answer.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const reporter = (id: string) => new AnalysisReporter({ redis, analysisId: id, prefix });
  await reporter(ids[0]!).complete(sampleResult("done"));
  await reporter(ids[1]!).fail(new Error("broke"));
  await reporter(ids[3]!).running();
});

afterAll(async () => {
  await app.close();
  await deleteKeysUnder(prefix);
  await redis.quit();
});

describe("GET /v1/analyses", () => {
  it("lists analyses newest first, each with its state (checked against the OpenAPI document)", async () => {
    const body = await list();
    expect(body.data.map((a) => a.id)).toEqual([...ids].reverse());
    expect(body.nextCursor).toBeUndefined();
    expect(body.data.at(-1)).toMatchObject({
      id: ids[0],
      status: "completed",
      query: "question 0",
      finishReason: "final",
    });
    expect(body.data.at(-2)).toMatchObject({ status: "failed", error: { message: "broke" } });
  });

  it("pages with limit and cursor", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const body = await list(`?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((a) => a.id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBe(3);
  });

  it("filters by status (one, or several comma-separated) and by creation time", async () => {
    expect((await list("?status=queued")).data.map((a) => a.id)).toEqual([ids[4], ids[2]]);
    const ended = await list("?status=completed,failed");
    expect(ended.data.map((a) => a.status)).toEqual(["failed", "completed"]);
    const sinceIso = await list(`?since=${encodeURIComponent(middleCreatedAt)}`);
    expect(sinceIso.data.map((a) => a.id)).toEqual([ids[4], ids[3], ids[2]]);
    const sinceMs = await list(`?since=${Date.parse(middleCreatedAt)}`);
    expect(sinceMs.data).toEqual(sinceIso.data);
    expect((await list(`?since=${Date.now() + 60_000}`)).data).toEqual([]);
  });

  it("answers 400 for a bad status, time, limit or cursor, and 401 without the token", async () => {
    for (const query of [
      "?status=done",
      "?status=queued,",
      "?since=yesterday",
      "?limit=0",
      "?limit=101",
      "?limit=ten",
      "?cursor=not-a-cursor",
      "?color=blue",
    ]) {
      const res = await app.inject({ method: "GET", url: `/v1/analyses${query}`, headers: AUTH });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code, query).toBe("invalid_request");
      checker.checkResponse("/v1/analyses", "get", 400, res.json());
    }
    const anonymous = await app.inject({ method: "GET", url: "/v1/analyses" });
    expect(anonymous.statusCode).toBe(401);
  });
});
