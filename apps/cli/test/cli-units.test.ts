import type { RlmEvent, RlmResult } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { loadEnv, parseRateLimit } from "../src/env.js";
import { exitCodeFor } from "../src/exit-code.js";
import { rateLimit, workerRoles } from "../src/parse-flags.js";
import { ProgressReporter } from "../src/progress.js";
import { QueueProgress } from "../src/queue-progress.js";
import { displayRedis, displayRedisUrl, redisTarget } from "../src/redis.js";
import { renderSummary, renderTrajectory } from "../src/render-result.js";
import { proxyForLog, proxyFromEnv } from "../src/model-client.js";
import { resolveRunSettings } from "../src/run-settings.js";

function result(overrides: Partial<RlmResult> = {}): RlmResult {
  return {
    answer: "61",
    finishReason: "final",
    iterations: 2,
    totalCalls: 9,
    replHistory: [
      {
        iteration: 1,
        code: "print(context.length)",
        output: Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n"),
        durationMs: 12,
        subCalls: 0,
      },
      {
        iteration: 2,
        code: "FINAL(x)",
        output: "",
        error: "ReferenceError: x",
        durationMs: 3,
        subCalls: 7,
      },
    ],
    messages: [],
    usage: {
      inputTokens: 12345,
      outputTokens: 678,
      cachedInputTokens: 0,
      costUsd: null,
      byModel: {},
    },
    durationMs: 4200,
    ...overrides,
  };
}

describe("result rendering", () => {
  it("shows code, trimmed output, sub-calls and errors per iteration", () => {
    const text = renderTrajectory(result());
    expect(text).toContain("── iteration 1");
    expect(text).toContain("── iteration 2");
    expect(text).toContain("print(context.length)");
    expect(text).toContain("line 5");
    expect(text).not.toContain("line 6");
    expect(text).toContain("… 14 more lines");
    expect(text).toContain("7 sub-calls");
    expect(text).toContain("error: ReferenceError: x");
  });

  it("summarises answer, finish reason, calls, tokens, unknown cost and duration", () => {
    const text = renderSummary(result());
    expect(text).toContain("  61");
    expect(text).toMatch(/finish reason\s+final/);
    expect(text).toMatch(/model calls\s+9/);
    expect(text).toMatch(/tokens\s+12,345 in · 678 out/);
    expect(text).toMatch(/cost\s+unknown/);
    expect(text).toMatch(/duration\s+4\.2 s/);
    const priced = renderSummary(result({ usage: { ...result().usage, costUsd: 0.5 } }));
    expect(priced).toMatch(/cost\s+\$0\.50/);
  });
});

describe("exit codes", () => {
  const error = (code: string) => ({ code, message: "m", retryable: false });
  it.each([
    ["final", undefined, 0],
    ["max_iterations", undefined, 0],
    ["budget", error("budget_exceeded"), 1],
    ["cancelled", error("cancelled"), 130],
    ["error", error("rate_limited"), 1],
    ["error", error("connection_failed"), 2],
    ["error", error("authentication_failed"), 2],
  ] as const)("%s (%o) → %i", (finishReason, err, code) => {
    expect(exitCodeFor(result({ finishReason, ...(err ? { error: err } : {}) }))).toBe(code);
  });
});

describe("env and flags", () => {
  it("treats empty variables as unset and coerces numbers", () => {
    const env = loadEnv({ OPENAI_BASE_URL: "", RLM_MAX_DEPTH: "2", OPENAI_API_KEY: "k" });
    expect(env.OPENAI_BASE_URL).toBeUndefined();
    expect(env.RLM_MAX_DEPTH).toBe(2);
    expect(env.LOG_LEVEL).toBeUndefined();
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.RLM_PREFIX).toBe("rlm");
    expect(env.PORT).toBe(3000);
    expect(env.RLM_MAX_UPLOAD_MB).toBe(200);
    expect(env.RLM_BOARD_WRITE).toBe(false);
    expect(env.RLM_WEBHOOK_SECRET).toBeUndefined();
    expect(env.RLM_WEBHOOK_ALLOW_PRIVATE).toBe(false);
  });

  it("parses the queue variables", () => {
    const env = loadEnv({
      REDIS_URL: "rediss://user:pw@redis.example:6380/2",
      RLM_PREFIX: "team-a",
      RLM_RATE_LIMIT: "600/m",
      RLM_WORKER_CONCURRENCY: "4",
      RLM_LLM_CONCURRENCY: "64",
      RLM_PARK_AFTER_S: "2.5",
      PORT: "8080",
      RLM_MAX_UPLOAD_MB: "0.5",
      RLM_BOARD_WRITE: "1",
      RLM_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      RLM_WEBHOOK_ALLOW_PRIVATE: "yes",
    });
    expect(env).toMatchObject({
      RLM_PREFIX: "team-a",
      RLM_RATE_LIMIT: { max: 600, durationMs: 60_000 },
      RLM_WORKER_CONCURRENCY: 4,
      RLM_LLM_CONCURRENCY: 64,
      RLM_PARK_AFTER_S: 2.5,
      PORT: 8080,
      RLM_MAX_UPLOAD_MB: 0.5,
      RLM_BOARD_WRITE: true,
      RLM_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      RLM_WEBHOOK_ALLOW_PRIVATE: true,
    });
    for (const bad of [
      { REDIS_URL: "http://x" },
      { RLM_PREFIX: "a b*" },
      { RLM_RATE_LIMIT: "0/s" },
      { RLM_PARK_AFTER_S: "0" },
      { RLM_PARK_AFTER_S: "soon" },
      { PORT: "70000" },
      { RLM_MAX_UPLOAD_MB: "-1" },
      { RLM_BOARD_WRITE: "maybe" },
      { RLM_WEBHOOK_SECRET: "not-a-secret" },
      // whsec_ and too few bytes to sign with.
      { RLM_WEBHOOK_SECRET: "whsec_c2hvcnQ=" },
      { RLM_WEBHOOK_ALLOW_PRIVATE: "perhaps" },
    ]) {
      expect(() => loadEnv(bad)).toThrow(Object.keys(bad)[0]);
    }
  });

  it("reads REDIS_CLUSTER_NODES: host:port entries, or URLs whose credentials and TLS apply to all", () => {
    expect(loadEnv({}).REDIS_CLUSTER_NODES).toBeUndefined();
    const plain = loadEnv({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002" });
    expect(plain.REDIS_CLUSTER_NODES).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      tls: false,
    });
    const target = redisTarget(plain);
    expect(target).toEqual({ cluster: plain.REDIS_CLUSTER_NODES });
    expect(displayRedis(target)).toBe("cluster 10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
    expect(redisTarget(loadEnv({}))).toEqual({ url: "redis://127.0.0.1:6379" });
    const secure = loadEnv({
      REDIS_CLUSTER_NODES: "rediss://app:s%40cret@node-a.example:6379,node-b.example:6379",
    }).REDIS_CLUSTER_NODES;
    expect(secure).toEqual({
      nodes: [
        { host: "node-a.example", port: 6379 },
        { host: "node-b.example", port: 6379 },
      ],
      username: "app",
      password: "s@cret",
      tls: true,
    });
    expect(displayRedis({ cluster: secure! })).toBe(
      "cluster (TLS) node-a.example:6379,node-b.example:6379",
    );
    for (const bad of [
      "node-a",
      "http://node-a:6379",
      "redis://node-a:6379/2",
      "redis://:pw-first@a:1,redis://:pw-second@b:2",
      "redis://a:1,rediss://b:2",
      " , ",
    ]) {
      expect(() => loadEnv({ REDIS_CLUSTER_NODES: bad }), bad).toThrow("REDIS_CLUSTER_NODES");
      expect(() => loadEnv({ REDIS_CLUSTER_NODES: bad }), bad).not.toThrow(/pw-/);
    }
    // A brace in the prefix would put its own hash tag before the keys'.
    expect(() => loadEnv({ RLM_PREFIX: "{rlm}" })).toThrow("RLM_PREFIX");
  });

  it("reads the proxy variables, lower case first, a bare host:port as http", () => {
    expect(proxyFromEnv(loadEnv({}))).toBeUndefined();
    const env = loadEnv({
      HTTPS_PROXY: "http://upper:1",
      https_proxy: "http://user:secret@lower:3128",
      HTTP_PROXY: "proxy.corp:8080",
      NO_PROXY: "localhost,.internal",
    });
    const proxy = proxyFromEnv(env);
    expect(proxy).toEqual({
      httpsProxy: "http://user:secret@lower:3128",
      httpProxy: "http://proxy.corp:8080",
      noProxy: "localhost,.internal",
    });
    expect(proxyForLog(proxy!).httpsProxy).toBe("http://***@lower:3128/");
    expect(resolveRunSettings({}, { ...env, OPENAI_API_KEY: "k" }).proxy).toEqual(proxy);
    expect(() => loadEnv({ HTTPS_PROXY: "ftp://proxy:21" })).toThrow("HTTPS_PROXY");
  });

  it("parses rates, queue lists and masks Redis passwords", () => {
    expect(parseRateLimit("20/s")).toEqual({ max: 20, durationMs: 1000 });
    expect(parseRateLimit("20")).toEqual({ max: 20, durationMs: 1000 });
    expect(parseRateLimit(" 3 / h ")).toEqual({
      max: 3,
      durationMs: 3_600_000,
    });
    expect(parseRateLimit("1.5/s")).toBeUndefined();
    expect(parseRateLimit("10/d")).toBeUndefined();
    expect(workerRoles("llm")).toEqual(["llm"]);
    expect(workerRoles("root, llm,root")).toEqual(["root", "llm"]);
    expect(() => workerRoles("root,")).toThrow(/root, llm or root,llm/);
    expect(() => rateLimit("lots")).toThrow(/N\/s/);
    expect(displayRedisUrl("redis://:secret@h:6379/0")).toBe("redis://:***@h:6379/0");
    expect(displayRedisUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });

  it("rejects invalid values naming the variable but never its value", () => {
    expect(() => loadEnv({ RLM_SUB_CONCURRENCY: "lots", OPENAI_BASE_URL: "sk-secret" })).toThrow(
      /RLM_SUB_CONCURRENCY.*OPENAI_BASE_URL|OPENAI_BASE_URL.*RLM_SUB_CONCURRENCY/,
    );
    expect(() => loadEnv({ OPENAI_BASE_URL: "sk-secret" })).not.toThrow(/sk-secret/);
  });

  it("lets a flag win over its variable and requires a key", () => {
    const env = loadEnv({
      OPENAI_API_KEY: "env-key",
      RLM_MAX_ITERATIONS: "5",
      RLM_ROOT_MODEL: "a",
    });
    const settings = resolveRunSettings({ maxIterations: 3, apiKey: "flag-key" }, env);
    expect(settings).toMatchObject({ apiKey: "flag-key", maxIterations: 3, rootModel: "a" });
    expect(settings.baseURL).toBe("https://api.openai.com/v1");
    expect(() => resolveRunSettings({}, loadEnv({}))).toThrow(/OPENAI_API_KEY/);
  });
});

describe("progress", () => {
  it("prints compact iteration lines when not on a terminal, ignoring nested depths", () => {
    let written = "";
    const progress = new ProgressReporter({ write: (t: string) => (written += t), isTTY: false });
    const events: RlmEvent[] = [
      { type: "iteration_start", depth: 0, iteration: 1, maxIterations: 10 },
      { type: "subcall_start", depth: 0, id: "a", query: "q", contextChars: 5, replayed: false },
      { type: "subcall_start", depth: 0, id: "b", query: "q", contextChars: 5, replayed: false },
      { type: "iteration_start", depth: 1, iteration: 1, maxIterations: 10 },
      { type: "subcall_end", depth: 0, id: "a", durationMs: 1, replayed: false },
      { type: "subcall_end", depth: 0, id: "b", durationMs: 1, replayed: false, error: "boom" },
      {
        type: "iteration_end",
        depth: 0,
        iteration: 1,
        cells: 1,
        final: false,
        usage: result().usage,
      },
    ];
    for (const event of events) progress.onEvent(event);
    expect(written.split("\n").filter(Boolean)).toEqual([
      "[rlm] iteration 1/10",
      "[rlm] iteration 1 done · 1 cell · sub-calls 2/2 done (1 failed)",
    ]);
  });
});

describe("queue progress", () => {
  it("prints a pick-up line and compact iteration lines from the event stream off a terminal", () => {
    let written = "";
    const stream = { write: (t: string) => (written += t), isTTY: false };
    const progress = new QueueProgress(stream as unknown as NodeJS.WriteStream);
    const entries = [
      { type: "status", status: "queued" },
      { type: "status", status: "running" },
      {
        type: "iteration",
        engine: {
          type: "iteration_start",
          depth: 0,
          iteration: 1,
          maxIterations: 5,
        },
      },
      // Through the queue the sub-calls are counted in the analysis's progress.
      {
        type: "progress",
        progress: {
          iteration: 1,
          maxIterations: 5,
          subCallsDone: 3,
          subCallsTotal: 4,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: null,
        },
      },
      { type: "status", status: "running" },
      {
        type: "iteration",
        engine: {
          type: "iteration_end",
          depth: 0,
          iteration: 1,
          cells: 2,
          final: false,
          usage: result().usage,
        },
      },
    ] as const;
    entries.forEach((event, i) => progress.onEntry({ id: `${i}-0`, time: i, event } as never));
    progress.finish();
    expect(written.split("\n").filter(Boolean)).toEqual([
      "[rlm] picked up by a worker",
      "[rlm] iteration 1/5",
      "[rlm] iteration 1 done · 2 cells · sub-calls 3/4 done",
    ]);
  });
});
