// Configuration errors of the queue commands (exit 2, one line, nothing on stdout) and
// `rlm serve` against real Redis. The real CLI, spawned through bin/rlm.js.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix } from "../src/redis.js";
import { cleanEnv, lines, runCli, trackCli } from "./support/run-cli.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const NO_REDIS = "redis://127.0.0.1:1";

function expectUsageError(run: { code: number | null; stdout: string; stderr: string }) {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stdout).toBe("");
  expect(lines(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(/^error: /);
}

describe("queue commands: configuration errors", () => {
  let dir: string;
  let doc: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rlm-cli-queue-"));
    doc = join(dir, "doc.txt");
    await writeFile(doc, "some text to analyse\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("worker without OPENAI_API_KEY exits 2", async () => {
    const run = await runCli(["worker"], cleanEnv({ REDIS_URL }));
    expectUsageError(run);
    expect(run.stderr).toContain("OPENAI_API_KEY");
  });

  it("worker with Redis unreachable exits 2 with the cannot-reach line", async () => {
    const run = await runCli(["worker"], cleanEnv({ REDIS_URL: NO_REDIS, OPENAI_API_KEY: "k" }));
    expectUsageError(run);
    expect(run.stderr).toBe(`error: cannot reach Redis at ${NO_REDIS}: connection refused\n`);
  });

  it("worker --queues with an unknown queue exits 2", async () => {
    const run = await runCli(["worker", "--queues", "root,gpu"], cleanEnv({ OPENAI_API_KEY: "k" }));
    expectUsageError(run);
    expect(run.stderr).toContain("--queues");
  });

  it("worker with a bad RLM_RATE_LIMIT exits 2 naming the variable", async () => {
    const run = await runCli(["worker"], cleanEnv({ OPENAI_API_KEY: "k", RLM_RATE_LIMIT: "fast" }));
    expectUsageError(run);
    expect(run.stderr).toContain("RLM_RATE_LIMIT");
  });

  it("analyze with Redis unreachable exits 2 with one line", async () => {
    const run = await runCli(
      ["analyze", "--file", doc, "--query", "q"],
      cleanEnv({ REDIS_URL: NO_REDIS }),
    );
    expectUsageError(run);
    expect(run.stderr).toBe(`error: cannot reach Redis at ${NO_REDIS}: connection refused\n`);
  });

  it("analyze with an unreadable file exits 2 with one line", async () => {
    const missing = join(dir, "nope.txt");
    const run = await runCli(["analyze", "--file", missing, "--query", "q"], cleanEnv());
    expectUsageError(run);
    expect(run.stderr).toBe(`error: cannot read file ${missing}: no such file\n`);
  });

  it("analyze with a bad REDIS_URL exits 2 naming the variable", async () => {
    const run = await runCli(
      ["analyze", "--file", doc, "--query", "q"],
      cleanEnv({ REDIS_URL: "http://localhost" }),
    );
    expectUsageError(run);
    expect(run.stderr).toContain("REDIS_URL");
  });

  it("serve without RLM_API_TOKEN exits 2", async () => {
    const run = await runCli(["serve", "--port", "0"], cleanEnv({ REDIS_URL }));
    expectUsageError(run);
    expect(run.stderr).toContain("RLM_API_TOKEN");
  });

  it("serve with Redis unreachable exits 2", async () => {
    const run = await runCli(
      ["serve", "--port", "0"],
      cleanEnv({ REDIS_URL: NO_REDIS, RLM_API_TOKEN: "t" }),
    );
    expectUsageError(run);
    expect(run.stderr).toContain("cannot reach Redis");
  });
});

describe("rlm serve", () => {
  const prefix = `rlm-cli-test-serve-${process.pid}-${randomBytes(3).toString("hex")}`;
  const token = "serve-test-token";

  afterAll(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

  it("serves /health and the API with the token, Bull Board behind auth, exits 0 on SIGTERM", async () => {
    const cli = trackCli(
      ["serve", "--port", "0", "--host", "127.0.0.1"],
      cleanEnv({
        REDIS_URL,
        RLM_PREFIX: prefix,
        RLM_API_TOKEN: token,
        RLM_MAX_UPLOAD_MB: "1",
      }),
    );
    try {
      const [, url] = await cli.waitFor("stderr", /API listening on (http:\/\/127\.0\.0\.1:\d+)/);
      // Where a person goes first, printed at start: viewer, Bull Board, the API's docs.
      await cli.waitFor("stderr", /Bull Board/);
      expect(cli.stderr).toContain(`viewer ${url}/admin/viewer`);
      expect(cli.stderr).toContain(`Bull Board ${url}/admin/queues`);
      expect(cli.stderr).toContain(`API docs ${url}/docs`);

      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ redis: "ok" });

      const body = JSON.stringify({
        query: "What is this?",
        context: "a small document",
      });
      const headers = { "content-type": "application/json" };
      const denied = await fetch(`${url}/v1/analyses`, {
        method: "POST",
        headers,
        body,
      });
      expect(denied.status).toBe(401);
      const accepted = await fetch(`${url}/v1/analyses`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${token}` },
        body,
      });
      expect(accepted.status).toBe(202);
      expect(await accepted.json()).toMatchObject({
        id: expect.any(String),
        status: "queued",
      });

      // RLM_MAX_UPLOAD_MB=1 reaches the server's body limit.
      const big = await fetch(`${url}/v1/analyses`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "q", context: "x".repeat(1_100_000) }),
      });
      expect(big.status).toBe(413);

      const board = await fetch(`${url}/admin/queues`);
      expect(board.status).toBe(401);
    } finally {
      cli.child.kill("SIGTERM");
    }
    const exit = await cli.exited(20_000);
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain("API server closed");
  });
});
