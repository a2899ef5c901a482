import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { queueTestbed, waitFor } from "./support/queue-testbed.js";

// Operating the queue: graceful drain, provider rate limits, the global limiter.
const bed = queueTestbed("ops", { strategy: "map-reduce", chunkChars: 20_000, latencyMs: 0 });
const worker = bed.worker;

const query = (marker: string) => `How many times does "${marker}" appear?`;

describe("operating the queue", () => {
  it("SIGTERM drains: the worker exits in bounded time and another finishes the analysis", async () => {
    const document = makeDocument({ chars: 300_000, markerCount: 13, seed: 31 });
    bed.mock.configure({ latencyMs: 300 });
    const first = await worker({ TEST_DRAIN_MS: "3000" });
    const { id } = await bed.client.enqueueAnalysis({
      query: query(document.marker),
      context: document.text,
    });
    await waitFor(() => bed.mock.requests().some((request) => request.kind === "sub"), 30_000);
    const termAt = Date.now();
    first.kill("SIGTERM");
    const code = await first.exited;
    expect(code).toBe(0);
    expect(first.output()).toContain("drained");
    expect(Date.now() - termAt).toBeLessThan(10_000);
    await worker();
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.answer.trim()).toBe("13");
  });

  it("a 429 pauses the LM queue for Retry-After instead of a retry storm", async () => {
    const document = makeDocument({ chars: 200_000, markerCount: 7, seed: 32 });
    bed.mock.configure({
      latencyMs: 50,
      faults: { rateLimitRate: 0.2, retryAfterSeconds: 1 },
      faultKinds: ["sub"],
      seed: 5,
    });
    await worker({ TEST_LLM_CONCURRENCY: "2" });
    const { id } = await bed.client.enqueueAnalysis({
      query: query(document.marker),
      context: document.text,
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 90_000 });
    expect(result.answer.trim()).toBe("7");
    const subs = bed.mock.requests().filter((request) => request.kind === "sub");
    const limited = subs.filter((request) => request.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // After a 429 no new sub-call starts until the pause is over (a call already
    // fetched by the other slot may still finish).
    const first429 = limited[0]!;
    const windowStart = (first429.endedAt ?? first429.startedAt) + 200;
    const startedInPause = subs.filter(
      (request) => request.startedAt > windowStart && request.startedAt < windowStart + 600,
    );
    expect(startedInPause).toEqual([]);
  });

  it("the global limiter bounds model requests per second across workers", async () => {
    const document = makeDocument({ chars: 240_000, markerCount: 5, seed: 33 });
    await Promise.all([
      worker({ TEST_LIMIT_MAX: "4", TEST_LIMIT_MS: "1000" }),
      worker({ TEST_LIMIT_MAX: "4", TEST_LIMIT_MS: "1000" }),
    ]);
    const { id } = await bed.client.enqueueAnalysis({
      query: query(document.marker),
      context: document.text,
    });
    const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
    expect(result.answer.trim()).toBe("5");
    const starts = bed.mock
      .requests()
      .filter((request) => request.kind === "sub")
      .map((request) => request.startedAt)
      .sort((a, b) => a - b);
    expect(starts.length).toBeGreaterThanOrEqual(12);
    // The limiter works in fixed windows: at most 4 starts per window, so at most 8 in
    // any 950 ms stretch (the end of one window and the start of the next), and n calls
    // touch at least ceil(n / 4) windows: the first start in one, the last in another
    // ceil(n / 4) - 1 later, with ceil(n / 4) - 2 whole windows between them (the first
    // start may come at the very end of its window, the last at the start of its own).
    for (const [index, start] of starts.entries()) {
      const inStretch = starts.slice(index).filter((other) => other < start + 950).length;
      expect(inStretch).toBeLessThanOrEqual(8);
    }
    const span = starts.at(-1)! - starts[0]!;
    expect(span).toBeGreaterThanOrEqual((Math.ceil(starts.length / 4) - 2) * 1_000);
  });

  it("a root job that fails for good marks its analysis failed instead of leaving it running", async () => {
    const { id } = await bed.client.enqueueAnalysis({
      query: 'How many times does "x" appear?',
      context: "a document whose stored copy expires before any worker reads it",
    });
    // The context expires (deleted here) before a worker picks the job up.
    const redis = new Redis({ host: "127.0.0.1", port: 6379 });
    const keys = await redis.keys(`${bed.prefix}:ctx:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await worker();
    await expect(bed.client.waitForResult(id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: "analysis_failed",
    });
    const view = await bed.client.getAnalysis(id);
    expect(view?.status).toBe("failed");
    expect(view?.error?.message).toMatch(/no longer stored/);
  });
});
