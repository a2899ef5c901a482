import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, closedPort, lines, runCli } from "./support/run-cli.js";

// Every usage/configuration problem: exit code 2, exactly one line on stderr, nothing
// on stdout, and no model call attempted. These spawn the real CLI through bin/rlm.js.
describe("rlm CLI error paths", () => {
  let dir: string;
  let doc: string;
  const withKey = cleanEnv({ OPENAI_API_KEY: "test-key" });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rlm-cli-"));
    doc = join(dir, "doc.txt");
    await writeFile(doc, "some text to analyse\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function expectUsageError(run: { code: number | null; stdout: string; stderr: string }) {
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: /);
  }

  it("--help exits 0 and lists the commands", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("run [options]");
    expect(run.stdout).toContain("demo [options]");
    expect(run.stdout).toContain("mock-llm [options]");
    expect(run.stdout).toContain("analyze [options]");
    expect(run.stdout).toContain("attach [options] <id>");
    expect(run.stdout).toContain("worker [options]");
    expect(run.stdout).toContain("serve [options]");
  });

  it("an unknown command exits 2 with one line", async () => {
    const run = await runCli(["frobnicate"]);
    expectUsageError(run);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });

  it("a missing API key exits 2 with one line", async () => {
    const run = await runCli(["run", "--file", doc, "--query", "what is this?"]);
    expectUsageError(run);
    expect(run.stderr).toContain("OPENAI_API_KEY");
  });

  it("RLM_PRICES that is not a price table exits 2 with one line", async () => {
    for (const value of ["not json", '{"m":{"input":-1,"output":1}}']) {
      const run = await runCli(["run", "--file", doc, "--query", "what is this?"], {
        ...withKey,
        RLM_PRICES: value,
      });
      expectUsageError(run);
      expect(run.stderr).toContain("RLM_PRICES");
    }
  });

  it("a missing required option exits 2 with one line", async () => {
    const run = await runCli(["run", "--file", doc], withKey);
    expectUsageError(run);
    expect(run.stderr).toContain("--query");
  });

  it("an unreadable file exits 2 with one line", async () => {
    const missing = join(dir, "nope.txt");
    const run = await runCli(["run", "--file", missing, "--query", "q"], withKey);
    expectUsageError(run);
    expect(run.stderr).toBe(`error: cannot read file ${missing}: no such file\n`);
  });

  it("an empty file exits 2 with one line", async () => {
    const empty = join(dir, "empty.txt");
    await writeFile(empty, "  \n");
    const run = await runCli(["run", "--file", empty, "--query", "q"], withKey);
    expectUsageError(run);
    expect(run.stderr).toContain("is empty");
  });

  it("invalid JSON in a .json file exits 2 with one line", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{ not json");
    const run = await runCli(["run", "--file", bad, "--query", "q"], withKey);
    expectUsageError(run);
    expect(run.stderr).toContain("not valid JSON");
  });

  it.each([
    ["--max-iterations", "abc"],
    ["--max-depth", "0"],
    ["--concurrency", "-3"],
    ["--max-iterations", "2.5"],
  ])("a bad number flag %s %s exits 2 with one line", async (flag, value) => {
    const run = await runCli(["run", "--file", doc, "--query", "q", flag, value], withKey);
    expectUsageError(run);
    expect(run.stderr).toContain(flag);
    expect(run.stderr).toContain("positive integer");
  });

  it("an output schema that is not a JSON Schema exits 2 with one line", async () => {
    const schema = join(dir, "bad-schema.json");
    await writeFile(schema, JSON.stringify({ type: "no-such-type" }));
    const run = await runCli(
      ["run", "--file", doc, "--query", "q?", "--output-schema", schema],
      withKey,
    );
    expectUsageError(run);
    expect(run.stderr).toContain(`output schema ${schema} is not a valid JSON Schema`);
    const missing = await runCli(
      ["analyze", "--file", doc, "--query", "q?", "--output-schema", join(dir, "none.json")],
      withKey,
    );
    expectUsageError(missing);
    expect(missing.stderr).toContain("no such file");
  });

  it("a bad number in the environment exits 2 and names the variable", async () => {
    const env = cleanEnv({ OPENAI_API_KEY: "test-key", RLM_MAX_ITERATIONS: "many" });
    const run = await runCli(["run", "--file", doc, "--query", "q"], env);
    expectUsageError(run);
    expect(run.stderr).toContain("RLM_MAX_ITERATIONS");
  });

  it("a flag wins over its env variable", async () => {
    // Env and flag name different URLs; the run stops at the probe and must name the
    // flag's one.
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const env = cleanEnv({ OPENAI_API_KEY: "from-env", OPENAI_BASE_URL: "http://127.0.0.1:1/v1" });
    const run = await runCli(["run", "--file", doc, "--query", "q", "--base-url", url], env);
    expectUsageError(run);
    expect(run.stderr).toContain(url);
  });

  it("an unreachable endpoint (closed local port) exits 2 with the cannot-reach line", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const run = await runCli(["run", "--file", doc, "--query", "q", "--base-url", url], withKey);
    expectUsageError(run);
    expect(run.stderr).toBe(
      `error: cannot reach the model endpoint at ${url}: connection refused\n`,
    );
  });

  it("an invalid mock-llm option exits 2 with one line", async () => {
    const run = await runCli(["mock-llm", "--fault-rate", "2"]);
    expectUsageError(run);
    expect(run.stderr).toContain("--fault-rate");
  });
});
