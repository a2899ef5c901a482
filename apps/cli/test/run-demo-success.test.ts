// Success paths of `rlm run` and `rlm demo`: they need the whole engine (rlm-queue
// facade, @rlm/sandbox on isolated-vm, @rlm/llm) and the mock LLM, all over real HTTP
// on loopback, with the real CLI spawned through bin/rlm.js.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RlmResult } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tunnellingProxy } from "../../../packages/llm/test/support/tunnelling-proxy.js";
import { BIN, cleanEnv, collect, lines, REPO_ROOT, runCli } from "./support/run-cli.js";

const REPORT = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.txt");
const FACTS = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.facts.json");
/** How Node prints a process warning: `(node:1234) MaxListenersExceededWarning: …`. */
const PROCESS_WARNING = /\(node:\d+\) \w*Warning/;

describe("rlm demo", () => {
  let demoPrefix: string | undefined;

  it("runs the three analyses offline and exits 0 with correct answers", async () => {
    const facts = (await import(FACTS, { with: { type: "json" } })).default as {
      markerCount: number;
      needle: { answer: string };
    };
    const run = await runCli(["demo", "--latency", "5"], cleanEnv(), 120_000);
    expect(run.code, run.stderr).toBe(0);
    // No process warning (a fan-out's calls share their analysis's cancel signal: one
    // listener each, past Node's leak warning at 11).
    expect(run.stderr).not.toMatch(PROCESS_WARNING);
    // Redis answers on this machine (the tests need it): the queue path, said at the top.
    const mode = run.stdout.split("\n")[0] ?? "";
    expect(mode).toMatch(
      /^mode: queue \(Redis at redis:\/\/127\.0\.0\.1:6379, key prefix rlm-demo-\d+\)$/,
    );
    demoPrefix = mode.match(/key prefix (rlm-demo-\d+)/)?.[1];
    expect(run.stdout).toContain("── iteration 1");
    expect(run.stdout).toMatch(/✓ count\s+final/);
    expect(run.stdout).toMatch(/✓ needle\s+final/);
    expect(run.stdout).toMatch(/✓ summary\s+final/);
    expect(run.stdout).toContain(String(facts.markerCount));
    expect(run.stdout).toContain(facts.needle.answer);
    expect(run.stdout).toMatch(/total: \d+ model calls/);
  });

  it("cleans up its Redis keys", async () => {
    // The demo ran under rlm-demo-<pid>; nothing of it may remain.
    expect(demoPrefix).toBeDefined();
    expect(await keysWithPrefix(demoPrefix ?? "")).toEqual([]);
  });

  it("piped to a reader that closes after one line, stops and still cleans up", async () => {
    // `rlm demo | head -1`: head exits after the first line, the demo's next write fails
    // with EPIPE. The pipeline's status is the demo's (pipefail): 0, the reader's choice.
    const shell = spawn(
      "bash",
      ["-o", "pipefail", "-c", `"${process.execPath}" "${BIN}" demo --latency 5 | head -1`],
      { cwd: REPO_ROOT, env: cleanEnv() },
    );
    const run = await collect(shell, 120_000);
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toHaveLength(1);
    const prefix = run.stdout.match(/key prefix (rlm-demo-\d+)/)?.[1];
    expect(prefix, run.stdout).toBeDefined();
    expect(run.stderr).not.toContain("error:");
    // The pipeline has ended, so the demo process has too: whatever it left is left.
    expect(await keysWithPrefix(prefix ?? "")).toEqual([]);
  });

  it("--in-process runs without the queue and says so", async () => {
    const run = await runCli(["demo", "--in-process", "--latency", "0"], cleanEnv(), 120_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("mode: in-process (--in-process given)");
    expect(run.stdout).toMatch(/✓ count\s+final/);
  });

  it("falls back to in-process when Redis does not answer", async () => {
    const run = await runCli(
      ["demo", "--json", "--latency", "0"],
      cleanEnv({ REDIS_URL: "redis://127.0.0.1:1" }),
      120_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("mode: in-process (Redis not reachable at redis://127.0.0.1:1)");
    expect(JSON.parse(run.stdout)).toHaveLength(3);
  });

  it("--json prints only the results, each with finishReason final", async () => {
    const run = await runCli(["demo", "--json", "--latency", "0"], cleanEnv(), 120_000);
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as {
      name: string;
      correct: boolean;
      result: RlmResult;
    }[];
    expect(results.map((r) => r.name)).toEqual(["count", "needle", "summary"]);
    for (const entry of results) {
      expect(entry.result.finishReason).toBe("final");
      expect(entry.correct).toBe(true);
    }
    // The count fans out to parallel sub-calls.
    expect(results[0]?.result.totalCalls).toBeGreaterThan(3);
  });
});

describe("rlm run against the mock LLM", () => {
  let mock: MockLlmServer;
  beforeAll(async () => {
    mock = await startMockLlmServer({ latencyMs: 2, faults: { badRequestWhen: "POISON" } });
  });
  afterAll(async () => {
    await mock.stop();
  });

  const env = () =>
    cleanEnv({
      OPENAI_API_KEY: "test-key",
      OPENAI_BASE_URL: mock.url,
      RLM_ROOT_MODEL: "mock-root",
    });

  it("prints the trajectory and the summary, and exits 0", async () => {
    const query = 'What is the "vault access code" for the Rotterdam hub?';
    const run = await runCli(["run", "--file", REPORT, "--query", query], env(), 120_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("── iteration 1");
    expect(run.stdout).toContain("code:");
    expect(run.stdout).toContain("4471-ZETA");
    expect(run.stdout).toMatch(/finish reason\s+final/);
    expect(run.stdout).toMatch(/model calls\s+\d+/);
    expect(run.stdout).toMatch(/tokens\s+[\d,]+ in/);
    expect(run.stdout).toMatch(/cost\s+(unknown|\$[\d.]+)/);
    expect(run.stdout).toMatch(/duration\s+[\d.]+ m?s/);
  });

  it("--json prints only the result object", async () => {
    const query = 'How many times does "INC-7731" appear?';
    const run = await runCli(
      ["run", "--file", REPORT, "--query", query, "--json", "--concurrency", "4"],
      env(),
      120_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as RlmResult;
    expect(result.finishReason).toBe("final");
    expect(result.replHistory.length).toBeGreaterThan(0);
    expect(typeof result.usage.inputTokens).toBe("number");
  });

  it("--output-schema gives a typed answer in result.output", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rlm-schema-"));
    try {
      const schemaFile = join(dir, "schema.json");
      await writeFile(
        schemaFile,
        JSON.stringify({
          type: "object",
          properties: { count: { type: "integer" } },
          required: ["count"],
        }),
      );
      const query = 'How many times does "INC-7731" appear?';
      const args = ["run", "--file", REPORT, "--query", query, "--output-schema", schemaFile];
      const run = await runCli([...args, "--json"], env(), 120_000);
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as RlmResult;
      expect(result.finishReason).toBe("final");
      expect(result.output).toEqual({ count: expect.any(Number) });
      expect(JSON.parse(result.answer)).toEqual(result.output);
      const human = await runCli(args, env(), 120_000);
      expect(human.stdout).toContain(`"count": ${(result.output as { count: number }).count}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("--max-sub-calls bounds the analysis: finishReason budget, exit 1", async () => {
    const query = 'How many times does "INC-7731" appear?';
    const run = await runCli(
      ["run", "--file", REPORT, "--query", query, "--json", "--max-sub-calls", "3"],
      env(),
      120_000,
    );
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as RlmResult;
    expect(result.finishReason).toBe("budget");
    expect(result.error?.message).toMatch(/maxSubCalls|recursiveLm|sub-call/i);
  });

  it("RLM_PRICES prices local models: --max-cost-usd then bounds them (and warns without)", async () => {
    const query = 'How many times does "INC-7731" appear?';
    const args = ["run", "--file", REPORT, "--query", query, "--json", "--max-cost-usd", "0.01"];
    const priced = await runCli(
      args,
      { ...env(), RLM_PRICES: '{"mock-root":{"input":100,"output":100}}' },
      120_000,
    );
    const result = JSON.parse(priced.stdout) as RlmResult;
    expect(result.finishReason, priced.stderr).toBe("budget");
    expect(result.usage.byModel["mock-root"]?.costUsd).toBeGreaterThan(0.01);
    expect(priced.stderr).not.toContain("no known price");

    const unpriced = await runCli(args, env(), 120_000);
    expect(unpriced.stderr).toContain("warning: no known price for mock-root");
    expect((JSON.parse(unpriced.stdout) as RlmResult).finishReason).toBe("final");
  });

  it("sends its probe and model calls through HTTP_PROXY, and around it for a NO_PROXY host", async () => {
    const proxy = await tunnellingProxy();
    try {
      const query = 'How many times does "INC-7731" appear?';
      const args = ["run", "--file", REPORT, "--query", query, "--json"];
      const proxied = await runCli(args, { ...env(), HTTP_PROXY: proxy.url }, 120_000);
      expect(proxied.code, proxied.stderr).toBe(0);
      const host = new URL(mock.url).host;
      expect(proxy.targets.length).toBeGreaterThan(0);
      expect(new Set(proxy.targets)).toEqual(new Set([host]));

      const seen = proxy.targets.length;
      const direct = await runCli(
        args,
        { ...env(), http_proxy: proxy.url, no_proxy: "127.0.0.1" },
        120_000,
      );
      expect(direct.code, direct.stderr).toBe(0);
      expect(proxy.targets).toHaveLength(seen);
    } finally {
      await proxy.close();
    }
  });

  it("a provider error ends the run with one error line and exit 1", async () => {
    const run = await runCli(
      ["run", "--file", REPORT, "--query", "POISON question"],
      env(),
      120_000,
    );
    expect(run.code).toBe(1);
    const errorLines = lines(run.stderr).filter((line) => line.startsWith("error: "));
    expect(errorLines).toHaveLength(1);
  });
});

/** Every Redis key under `prefix` (as `prefix:*`). */
async function keysWithPrefix(prefix: string): Promise<string[]> {
  const { openRedis, closeRedis } = await import("@rlm/queue");
  const client = openRedis({ url: "redis://127.0.0.1:6379", maxRetriesPerRequest: 1 });
  try {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await client.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
    return found;
  } finally {
    await closeRedis(client);
  }
}
