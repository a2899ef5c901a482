import { RlmQueueClient } from "@rlm/queue";
import { afterAll, describe, expect, it } from "vitest";
import {
  AUTH,
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  testServer,
  uniquePrefix,
  within,
} from "./helpers.js";

const prefix = uniquePrefix("lifecycle");

afterAll(async () => {
  await deleteKeysUnder(prefix);
});

describe("server lifecycle", () => {
  it("close() ends open event streams instead of waiting on them", async () => {
    const app = testServer(prefix);
    const baseUrl = await listen(app);
    const created = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: "doc" },
    });
    const { id } = created.json() as { id: string };
    const response = await fetch(`${baseUrl}/v1/analyses/${id}/events`, { headers: AUTH });
    expect(response.status).toBe(200);
    const drained = (async () => {
      for await (const _ of response.body!) {
        // read until the server ends the stream
      }
    })();
    await within(app.close(), 10_000, "app.close()");
    await within(drained, 5_000, "the stream to end");
  });

  it("leaves a client it was given open", async () => {
    const client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix });
    const app = testServer(prefix, { client });
    await app.ready();
    const res = await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: "doc" },
    });
    expect(res.statusCode).toBe(202);
    await app.close();
    const { id } = res.json() as { id: string };
    expect((await client.getAnalysis(id))?.status).toBe("queued");
    await client.close();
  });

  it("/health answers 503 when Redis does not answer", async () => {
    // The API itself runs on the real Redis; only the health probe's address is wrong
    // (the board's queues share it and log their connection errors).
    const client = new RlmQueueClient({ connection: REDIS_OPTIONS, prefix });
    const app = testServer(prefix, {
      client,
      connection: { host: "127.0.0.1", port: 1, retryStrategy: () => 60_000 },
    });
    await app.ready();
    const res = await app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: "degraded", redis: "unreachable" });
    await within(app.close(), 10_000, "close with Redis unreachable");
    await client.close();
  });

  it("refuses an empty apiToken", () => {
    expect(() => testServer(prefix, { apiToken: "" })).toThrow(/apiToken/);
  });
});
