// `rlm worker` + `rlm analyze` / `rlm attach` end to end: the real CLI spawned through
// bin/rlm.js, real Redis under a unique prefix (deleted afterwards), and the mock LLM
// over real HTTP on loopback.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { RlmResult } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix } from "../src/redis.js";
import {
  cleanEnv,
  lines,
  REPO_ROOT,
  runCli,
  type TrackedCli,
  trackCli,
} from "./support/run-cli.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const REPORT = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.txt");
const FACTS = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.facts.json");
const NEEDLE_QUERY = 'What is the "vault access code" for the Rotterdam hub?';

function uniquePrefix(label: string): string {
  return `rlm-cli-test-${label}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

describe("rlm worker + rlm analyze", () => {
  const prefix = uniquePrefix("e2e");
  let mock: MockLlmServer;
  let worker: TrackedCli;
  let facts: {
    markerCount: number;
    marker: string;
    needle: { answer: string };
  };

  const env = (extra: Record<string, string> = {}) =>
    cleanEnv({ REDIS_URL, RLM_PREFIX: prefix, ...extra });

  beforeAll(async () => {
    facts = (await import(FACTS, { with: { type: "json" } })).default as typeof facts;
    mock = await startMockLlmServer({ latencyMs: 2 });
    worker = trackCli(
      [
        "worker",
        "--concurrency",
        "2",
        "--llm-concurrency",
        "8",
        "--rate-limit",
        "500/s",
        "--park-after",
        "2.5",
      ],
      env({
        OPENAI_API_KEY: "test-key",
        OPENAI_BASE_URL: mock.url,
        RLM_ROOT_MODEL: "mock-root",
        RLM_SUB_MODEL: "mock-sub",
      }),
    );
    await worker.waitFor("stderr", /worker ready/, 30_000);
  });

  afterAll(async () => {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill("SIGKILL");
    }
    await mock?.stop();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

  it("the worker logs one ready line with its roles and concurrency", () => {
    const ready = lines(worker.stderr).filter((line) => line.includes("worker ready"));
    expect(ready).toHaveLength(1);
    const entry = JSON.parse(ready[0] ?? "{}") as Record<string, unknown>;
    expect(entry.roles).toEqual(["root", "llm"]);
    expect(entry.concurrency).toEqual({ root: 2, llm: 8 });
    expect(entry.prefix).toBe(prefix);
    expect(entry.rateLimit).toBe("500 per 1 s");
    expect(entry.parkAfterS).toBe(2.5);
  });

  it("analyze prints the trajectory and the right answer, exit 0", async () => {
    const run = await runCli(["analyze", "--file", REPORT, "--query", NEEDLE_QUERY], env(), 60_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("── iteration 1");
    expect(run.stdout).toContain(facts.needle.answer);
    expect(run.stdout).toMatch(/finish reason\s+final/);
    // Not a terminal: compact progress lines, one per iteration start and end.
    expect(run.stderr).toMatch(/^analysis an_\w+ queued$/m);
    expect(run.stderr).toContain("[rlm] iteration 1/");
    expect(run.stderr).toMatch(/\[rlm\] iteration 1 done · \d+ cells? · sub-calls/);
  });

  it("analyze --json prints a result object that parses, with parallel sub-calls", async () => {
    const run = await runCli(
      [
        "analyze",
        "--file",
        REPORT,
        "--query",
        `How many times does "${facts.marker}" appear?`,
        "--json",
      ],
      env(),
      60_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as RlmResult;
    expect(result.finishReason).toBe("final");
    expect(result.answer).toContain(String(facts.markerCount));
    expect(result.totalCalls).toBeGreaterThan(3);
    expect(result.replHistory.some((cell) => cell.subCalls > 1)).toBe(true);
  });

  it("the same --idempotency-key returns the same analysis", async () => {
    const key = `cli-test-${randomBytes(4).toString("hex")}`;
    const args = ["analyze", "--file", REPORT, "--query", NEEDLE_QUERY, "--idempotency-key", key];
    const first = await runCli(args, env(), 60_000);
    const second = await runCli(args, env(), 60_000);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const id = first.stderr.match(/analysis (an_\w+) queued/)?.[1];
    expect(id).toBeDefined();
    expect(second.stderr).toContain(`analysis ${id} (already submitted with this idempotency key)`);
    expect(second.stdout).toContain(facts.needle.answer);
  });

  it("attach prints a finished analysis again", async () => {
    const run = await runCli(["analyze", "--file", REPORT, "--query", NEEDLE_QUERY], env(), 60_000);
    const id = run.stderr.match(/analysis (an_\w+) queued/)?.[1] ?? "";
    const attached = await runCli(["attach", id, "--json"], env(), 30_000);
    expect(attached.code, attached.stderr).toBe(0);
    expect((JSON.parse(attached.stdout) as RlmResult).answer).toContain(facts.needle.answer);
  });

  it("the worker drains on SIGTERM, prints its drain line and exits 0", async () => {
    const startedAt = Date.now();
    worker.child.kill("SIGTERM");
    const exit = await worker.exited(35_000);
    expect(exit.code, exit.stderr).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(35_000);
    expect(exit.stderr).toContain("draining: no new jobs");
    expect(exit.stderr).toContain("worker drained, exiting");
  });
});

describe("rlm analyze without a worker", () => {
  const prefix = uniquePrefix("idle");
  const env = () => cleanEnv({ REDIS_URL, RLM_PREFIX: prefix });

  afterAll(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

  it("Ctrl-C without a terminal detaches, prints the id and exits 130", async () => {
    const cli = trackCli(["analyze", "--file", REPORT, "--query", "anything?"], env());
    const [, id] = await cli.waitFor("stderr", /analysis (an_\w+) queued/);
    cli.child.kill("SIGINT");
    const exit = await cli.exited(20_000);
    expect(exit.code).toBe(130);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toContain(`detached: analysis ${id} keeps running`);
    expect(exit.stderr).toContain(`rlm attach ${id}`);

    // Still queued (no worker): attach gives up after --wait-timeout with exit 1.
    const attached = await runCli(["attach", id ?? "", "--wait-timeout", "1"], env(), 20_000);
    expect(attached.code).toBe(1);
    expect(attached.stderr).toMatch(/did not finish within 1 s; it keeps running/);
  });

  it("attach to an unknown id exits 2 with one line", async () => {
    const run = await runCli(["attach", "an_doesnotexist"], env());
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([
      "error: no analysis an_doesnotexist (unknown id, or past retention)",
    ]);
  });
});
