// What `rlm worker` logs: a `warn` line per retried model call (analysis, model, attempt,
// error code; never the document), LOG_LEVEL honoured, JSON lines when stderr is not a
// terminal and readable lines when it is (a real pseudo-terminal, made by util-linux's
// `script`). The real CLI through bin/rlm.js, real Redis under a unique prefix, the mock
// LLM over HTTP.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RlmResult } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix } from "../src/redis.js";
import { BIN, cleanEnv, lines, REPO_ROOT, runCli, trackCli } from "./support/run-cli.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const REPORT = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.txt");

describe("rlm worker logs", () => {
  const prefix = `rlm-cli-test-logs-${process.pid}-${randomBytes(3).toString("hex")}`;
  let mock: MockLlmServer;
  const env = (extra: Record<string, string> = {}) =>
    cleanEnv({
      REDIS_URL,
      RLM_PREFIX: prefix,
      OPENAI_API_KEY: "test-key",
      OPENAI_BASE_URL: mock.url,
      RLM_ROOT_MODEL: "mock-root",
      RLM_SUB_MODEL: "mock-sub",
      ...extra,
    });

  beforeAll(async () => {
    // A third of the sub-calls answer 500 (seeded: the same sequence every run); the
    // client retries them with backoff, and each retry must be a log line.
    mock = await startMockLlmServer({
      latencyMs: 2,
      seed: "worker-logs",
      faults: { serverErrorRate: 0.34 },
      faultKinds: ["sub"],
    });
  });

  afterAll(async () => {
    await mock?.stop();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

  it("a retried model call is one warn line with analysis, model, attempt and code; LOG_LEVEL=warn hides info", async () => {
    const worker = trackCli(["worker", "--concurrency", "2"], env({ LOG_LEVEL: "warn" }));
    try {
      // The count query fans out to parallel sub-calls: several of them meet a 500.
      const query = 'How many times does "INC-7731" appear?';
      const run = await runCli(
        ["analyze", "--file", REPORT, "--query", query, "--json"],
        env(),
        90_000,
      );
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as RlmResult;
      const id = run.stderr.match(/analysis (an_\w+) queued/)?.[1];
      expect(id).toBeDefined();
      expect(result.finishReason).toBe("final");
      await worker.waitFor("stderr", /model call retried/, 10_000);

      const entries = lines(worker.stderr).map(
        (line) => JSON.parse(line) as Record<string, unknown>,
      );
      // LOG_LEVEL=warn: not even the ready line.
      expect(entries.filter((entry) => (entry.level as number) < 40)).toEqual([]);
      const retries = entries.filter((entry) =>
        entry.msg?.toString().startsWith("model call retried"),
      );
      expect(retries.length).toBeGreaterThan(0);
      for (const entry of retries) {
        expect(entry).toMatchObject({
          level: 40,
          analysisId: id,
          model: "mock-sub",
          attempt: expect.any(Number),
          code: "provider_error",
          status: 500,
          delayMs: expect.any(Number),
        });
      }
      // Nothing of the document or the query reaches the log.
      const document = await readFile(REPORT, "utf8");
      const sample = document.slice(1000, 1060);
      expect(worker.stderr).not.toContain(sample);
      expect(worker.stderr).not.toContain("INC-7731");
    } finally {
      worker.child.kill("SIGTERM");
    }
    const exit = await worker.exited(30_000);
    expect(exit.code, exit.stderr).toBe(0);
  });

  it("on a terminal, readable lines instead of JSON", async () => {
    // `script` runs the worker on a pseudo-terminal and copies what it prints; Ctrl-C
    // written to the terminal reaches the worker as SIGINT, as a person's would. `exec`:
    // `script` runs the command with `$SHELL -c`, and a shell that stays in between (dash,
    // CI's /bin/sh when SHELL is unset) dies of that SIGINT itself, so `script` reported
    // 130 while the worker was still draining.
    const command = `exec "${process.execPath}" "${BIN}" worker --concurrency 1`;
    const session = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: REPO_ROOT,
      env: env({ NO_COLOR: "1", TERM: "xterm" }),
    });
    let output = "";
    session.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => session.on("close", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line: ${output}`)), 30_000);
        session.stdout.on("data", () => {
          if (!output.includes("worker ready")) return;
          clearTimeout(timer);
          resolve();
        });
      });
      session.stdin.write("\x03");
      expect(await exited).toBe(0);
    } finally {
      session.kill("SIGKILL");
    }
    const shown = lines(output.replaceAll("\r", ""));
    const ready = shown.find((line) => line.includes("worker ready"));
    // `[12:34:56.789] INFO: worker ready: root×1, llm×32 {"roles":…}`
    expect(ready).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker ready: root×1, llm×32 \{/);
    expect(shown.some((line) => /INFO: worker drained, exiting/.test(line))).toBe(true);
    expect(shown.filter((line) => line.startsWith('{"level"'))).toEqual([]);
  });
});
