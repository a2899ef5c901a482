import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MockLlmServer, startMockLlmServer } from "../src/index.js";
import { logText, report } from "./helpers/conversations.js";
import { runMiniRlm } from "./helpers/mini-engine.js";

// The scripts run for real: a small engine (same prompts as @rlm/core, a node:vm REPL)
// executes the code the mock writes, so a wrong count or a broken cell fails here.
let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.reset();
  server.configure({ strategy: "auto", chunkChars: 100_000 });
});

describe("scripted strategies run end to end", () => {
  it("peek-grep counts exactly (case-sensitive) in three turns", async () => {
    const { text, count } = logText(500, "ERR-4471", 7);
    const context = `${text}\nerr-4471 is not the same\n`;
    const run = await runMiniRlm({
      url: server.url,
      query: 'How many times does "ERR-4471" appear?',
      context,
    });
    expect(run).toMatchObject({ answer: String(count), finishReason: "final" });
    expect(run.replies).toHaveLength(3);
    expect(server.stats().byKind).toEqual({ root: 3, sub: 0, final: 0 });
  });

  it("map-reduce fans out one sub-call per chunk and sums exactly", async () => {
    server.configure({ chunkChars: 2_000 });
    const { text, count } = logText(1_000, "ERR-4471", 3);
    const run = await runMiniRlm({
      url: server.url,
      query: 'How many times does "ERR-4471" appear?',
      context: text,
    });
    expect(run.answer).toBe(String(count));
    const chunks = Number(/chunks: (\d+)/.exec(run.outputs.join("\n"))?.[1]);
    expect(chunks).toBeGreaterThan(10);
    expect(server.stats().byKind.sub).toBe(chunks);
    expect(server.stats().byModel["mock-sub"]?.calls).toBe(chunks);
  });

  it("map-reduce cuts chunks at line boundaries, so no occurrence is split", async () => {
    // A cut every 20 characters would split the third "ERR-4471" of each chunk.
    server.configure({ chunkChars: 20 });
    const run = await runMiniRlm({
      url: server.url,
      query: 'How many times does "ERR-4471" appear?',
      context: "ERR-4471\n".repeat(100),
    });
    expect(run.answer).toBe("100");
    expect(run.outputs.join("\n")).toContain("chunks: 50");
  });

  it("map-reduce at depth 2: each chunk is a nested root analysis that finishes with the number", async () => {
    server.configure({ chunkChars: 5_000 });
    const { text, count } = logText(1_000, "ERR-4471", 4);
    const run = await runMiniRlm({
      url: server.url,
      query: 'How many times does "ERR-4471" appear?',
      context: text,
      maxDepth: 2,
    });
    expect(run.answer).toBe(String(count));
    const nested = server.requests().filter((r) => r.kind === "root" && r.strategy === "peek-grep");
    expect(nested.length).toBeGreaterThan(0);
    expect(server.stats().byKind.sub).toBe(0);
  });

  it("needle answers with the line that states the value, not the first mention", async () => {
    const context = [
      "Welcome. Never share the access code with visitors.",
      "Filler line.",
      "The access code is 7781-BLUE.",
      "Another access code mention.",
    ].join("\n");
    const run = await runMiniRlm({ url: server.url, query: "What is the access code?", context });
    expect(run.answer).toBe("The access code is 7781-BLUE.");
  });

  it("summarize names every section, through section sub-calls and one combine call", async () => {
    const titles = ["Revenue", "Costs", "Hiring Plan", "Risks"];
    const run = await runMiniRlm({
      url: server.url,
      query: "Summarize this report.",
      context: report(titles),
    });
    expect(run.answer).toMatch(/^Overview of 5 sections: /);
    for (const title of titles) expect(run.answer).toContain(title);
    expect(server.stats().byKind.sub).toBe(titles.length + 2);
  });

  it("summarize at depth 2 still names every section", async () => {
    const titles = ["Alpha", "Beta", "Gamma"];
    const run = await runMiniRlm({
      url: server.url,
      query: "Summarize this report.",
      context: report(titles),
      maxDepth: 2,
    });
    for (const title of titles) expect(run.answer).toContain(title);
  });

  it("works when the context is an array of strings or an object", async () => {
    const lines = ["a ERR-1", "b", "c ERR-1 ERR-1"];
    const asArray = await runMiniRlm({ url: server.url, query: 'Count "ERR-1"', context: lines });
    expect(asArray.answer).toBe("3");
    const asObject = await runMiniRlm({
      url: server.url,
      query: "What is the value of password?",
      context: { user: "ann", settings: { password: "hunter2" } },
    });
    expect(asObject.answer).toContain("hunter2");
  });

  it("finishes with the best answer seen when the iteration limit comes first", async () => {
    const run = await runMiniRlm({
      url: server.url,
      query: 'How many times does "x" appear?',
      context: "x x x",
      maxIterations: 2,
    });
    expect(run).toMatchObject({ answer: "3", finishReason: "max_iterations" });
    expect(server.requests().at(-1)?.kind).toBe("final");
  });
});
