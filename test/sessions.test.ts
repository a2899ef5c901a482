import type { RlmContext, SandboxFactory } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { createIsolatedVmSandboxFactory, Rlm } from "rlm-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { isRoot, queryOf, repl, ScriptedModel, turnOf } from "./support/scripted-model.js";

// Sessions in process: questions over one context that share a REPL.
const CONTEXT = "alpha beta gamma\n".repeat(200);

/** A sandbox factory that counts document loads. */
function countingFactory(): { factory: SandboxFactory; loads: () => number } {
  const inner = createIsolatedVmSandboxFactory();
  let loads = 0;
  return {
    factory: {
      ...inner,
      loadDocument: (context: RlmContext) => {
        loads += 1;
        return inner.loadDocument(context);
      },
      create: (options) => inner.create(options),
    },
    loads: () => loads,
  };
}

describe("sessions, in process", () => {
  it("a question starts from the variables earlier questions defined, and history", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "sub answer";
      const query = queryOf(request);
      if (query === "first") {
        return turnOf(request) === 1
          ? repl("const words = context.split(/\\s+/).filter(Boolean)\nprint(words.length)")
          : "FINAL(600 words)";
      }
      if (query === "second") {
        return turnOf(request) === 1
          ? repl(
              "const alphas = words.filter((w) => w === 'alpha').length\nprint(alphas, history.length)",
            )
          : "FINAL_VAR(alphas)";
      }
      return turnOf(request) === 1
        ? repl(
            "FINAL(JSON.stringify({ earlier: history.map((h) => h.answer), alphas, words: words.length }))",
          )
        : "FINAL(unexpected)";
    });
    const { factory, loads } = countingFactory();
    const rlm = new Rlm({ modelClient: model, sandboxFactory: factory, rootModel: "m" });
    const session = rlm.session(CONTEXT);
    try {
      const first = await session.completion("first");
      expect(first.answer).toBe("600 words");
      const second = await session.completion("second");
      expect(second.answer).toBe("200");
      expect(second.replHistory[0]?.output).toBe("200 1");
      const third = await session.completion("third");
      expect(JSON.parse(third.answer)).toEqual({
        earlier: ["600 words", "200"],
        alphas: 200,
        words: 600,
      });
      expect(session.history.map((h) => h.query)).toEqual(["first", "second", "third"]);
      // The second question's prompt says what it starts from.
      expect(second.messages[1]?.content).toContain("This is question 2 of a session");
      expect(second.messages[1]?.content).toContain("words");
      expect(loads()).toBe(1);
    } finally {
      session.close();
    }
  });

  it("a lost sandbox is rebuilt from the earlier questions' journals, without a model call for them", async () => {
    let subCalls = 0;
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) {
        subCalls += 1;
        return `summary ${subCalls}`;
      }
      const query = queryOf(request);
      if (query === "first") {
        return turnOf(request) === 1
          ? repl(
              "const summary = await recursiveLm('summarize', context.slice(0, 100))\nprint(summary)",
            )
          : "FINAL_VAR(summary)";
      }
      // The second question blows the memory limit, then reads the first one's variable.
      return turnOf(request) === 1
        ? repl("const hog = []\nwhile (true) hog.push(new Array(1e6).fill(1))")
        : repl("FINAL(summary + ' / ' + history[0].answer)");
    });
    const rlm = new Rlm({
      modelClient: model,
      rootModel: "m",
      limits: { memoryMb: 64, cellCpuMs: 5_000, cellTimeoutMs: 10_000 },
    });
    const session = rlm.session(CONTEXT);
    try {
      const first = await session.completion("first");
      expect(first.answer).toBe("summary 1");
      const second = await session.completion("second");
      expect(second.replHistory[0]?.error).toMatch(/MemoryLimitError|RangeError/);
      expect(second.answer).toBe("summary 1 / summary 1");
      // The rebuild replayed the first question's sub-call from its journal.
      expect(subCalls).toBe(1);
    } finally {
      session.close();
    }
  });
});

describe("sessions against the mock LLM over HTTP", () => {
  let mock: MockLlmServer;
  beforeAll(async () => {
    mock = await startMockLlmServer({ latencyMs: 2, strategy: "peek-grep" });
  });
  afterAll(async () => {
    await mock?.stop();
  });

  it("answers three questions in one session, the document loaded once", async () => {
    const document = makeDocument({ chars: 200_000, markerCount: 17, seed: 3 });
    const { factory, loads } = countingFactory();
    const rlm = new Rlm({
      baseURL: mock.url,
      apiKey: "k",
      rootModel: "mock-root",
      sandboxFactory: factory,
    });
    const session = rlm.session(document.text);
    try {
      for (const marker of [document.marker, "Region 1", "shipment"]) {
        const result = await session.completion(`How many times does "${marker}" appear?`);
        expect(result.finishReason).toBe("final");
        expect(Number(result.answer.trim())).toBe(document.text.split(marker).length - 1);
      }
      expect(session.history).toHaveLength(3);
      expect(loads()).toBe(1);
      const third = mock
        .requests()
        .filter((request) => request.kind === "root")
        .at(-1);
      expect(third).toBeDefined();
    } finally {
      session.close();
    }
  });

  it("a model that reuses the earlier questions' variables finds them (session-aware)", async () => {
    mock.configure({ habits: ["session-aware"] });
    const document = makeDocument({ chars: 120_000, markerCount: 11, seed: 8 });
    const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", rootModel: "mock-root" });
    const session = rlm.session(document.text);
    try {
      const counts = [];
      for (const term of [document.marker, "Region 2"]) {
        const result = await session.completion(`How many times does "${term}" appear?`);
        expect(result.answer.trim()).toBe(String(document.text.split(term).length - 1));
        counts.push(result.answer.trim());
      }
      const third = await session.completion('How many times does "shipment" appear?');
      // The third question's peek ran on the REPL the first two left: `text` reused, not
      // declared again, `count` as the second question left it, two questions in history.
      const peek = third.replHistory[0];
      expect(peek?.code).not.toContain("const text");
      expect(peek?.error).toBeUndefined();
      expect(peek?.output).toContain("question 3 of a session; history: 2");
      expect(peek?.output).toContain(`earlier count: ${counts[1]}`);
      expect(peek?.output).toContain(`last answer: ${JSON.stringify(counts[1])}`);
    } finally {
      session.close();
      mock.configure({ habits: [] });
    }
  });
});
