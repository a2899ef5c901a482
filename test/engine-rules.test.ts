import {
  AnalysisMachine,
  type Journal,
  resolveEngineOptions,
  type SandboxFactory,
  FINAL_ANSWER_PROMPT,
  FINAL_WITH_CODE_NOTE,
  NO_CODE_NOTE,
  OTHER_FENCE_NOTE,
  RlmError,
  type RlmEvent,
} from "@rlm/core";
import { createIsolatedVmSandboxFactory, MemoryJournal, Rlm } from "rlm-queue";
import { describe, expect, it } from "vitest";
import { isRoot, queryOf, repl, ScriptedModel, turnOf } from "./support/scripted-model.js";

const CONTEXT = "alpha beta gamma\n".repeat(1000);

function rlmWith(model: ScriptedModel, options: ConstructorParameters<typeof Rlm>[0] = {}) {
  return new Rlm({
    modelClient: model,
    limits: { cellTimeoutMs: 5_000, cellCpuMs: 2_000, memoryMb: 64 },
    ...options,
  });
}

describe("FINAL rules", () => {
  it("does not take a text FINAL from a reply that also has code; the code runs and the model is told", async () => {
    const model = new ScriptedModel((request) => {
      if (turnOf(request) === 1) return `${repl("const x = 6 * 7\nprint(x)")}\nFINAL(99)`;
      return "FINAL_VAR(x)";
    });
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.finishReason).toBe("final");
    expect(result.answer).toBe("42");
    expect(result.messages[3]?.content).toContain(FINAL_WITH_CODE_NOTE);
    expect(result.messages[3]?.content).toContain("42");
  });

  it("takes FINAL called in code and stops running the remaining blocks", async () => {
    const model = new ScriptedModel(() =>
      [repl('FINAL("from code")'), repl('print("must not run")')].join("\n"),
    );
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.answer).toBe("from code");
    expect(result.replHistory).toHaveLength(1);
  });

  it("nudges a reply with neither code nor FINAL", async () => {
    const model = new ScriptedModel((request) =>
      turnOf(request) === 1 ? "I guess it is 5." : repl("FINAL(context.length)"),
    );
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.messages[3]?.content).toContain(NO_CODE_NOTE);
    expect(result.answer).toBe(String(CONTEXT.length));
    expect(result.iterations).toBe(2);
  });

  it("tells the model when FINAL_VAR names a variable that does not exist", async () => {
    const model = new ScriptedModel((request) =>
      turnOf(request) === 1
        ? "FINAL_VAR(missing)"
        : repl('const missing = "now here"\nFINAL_VAR("missing")'),
    );
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.messages[3]?.content).toContain("no variable named missing");
    expect(result.answer).toBe("now here");
  });
  it.each([
    ["an untagged fence", "```\nprint('x')\n```\nFINAL(early)"],
    ["a python fence", "```python\nprint('x')\n```\nFINAL(early)"],
  ])(
    "does not take a text FINAL from a reply with %s, which does not run",
    async (_name, reply) => {
      const model = new ScriptedModel((request) =>
        turnOf(request) === 1 ? reply : repl('FINAL("after code")'),
      );
      const result = await rlmWith(model).completion("q", CONTEXT);
      expect(result.finishReason).toBe("final");
      expect(result.answer).toBe("after code");
      expect(result.messages[3]?.content).toContain(OTHER_FENCE_NOTE);
      expect(result.iterations).toBe(2);
    },
  );
});

describe("iteration limit", () => {
  it("asks once for a best answer and says so in finishReason", async () => {
    const model = new ScriptedModel((request) => {
      const last = request.messages.at(-1)?.content;
      return last === FINAL_ANSWER_PROMPT ? "FINAL(best guess)" : repl("print(1)");
    });
    const result = await rlmWith(model, { maxIterations: 3 }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("max_iterations");
    expect(result.answer).toBe("best guess");
    expect(result.iterations).toBe(3);
    expect(model.requests).toHaveLength(4);
    expect(result.totalCalls).toBe(4);
  });

  it("runs a last reply that answers in code anyway: FINAL(name) gives the variable's value", async () => {
    const model = new ScriptedModel((request) => {
      const last = request.messages.at(-1)?.content;
      if (last === FINAL_ANSWER_PROMPT) return "Here it is:\n" + repl("FINAL(best)");
      return repl("const best = 3 + 4\nprint(best)");
    });
    const result = await rlmWith(model, { maxIterations: 1 }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("max_iterations");
    expect(result.answer).toBe("7");
    expect(result.replHistory.map((entry) => entry.code)).toEqual([
      "const best = 3 + 4\nprint(best)",
      "FINAL(best)",
    ]);
    expect(result.iterations).toBe(1);
  });

  it("takes the inside of a last reply that is all one non-code fence", async () => {
    const model = new ScriptedModel((request) =>
      request.messages.at(-1)?.content === FINAL_ANSWER_PROMPT
        ? "```\nThe answer is 42\n```"
        : repl("print(1)"),
    );
    const result = await rlmWith(model, { maxIterations: 1 }).completion("q", CONTEXT);
    expect(result.answer).toBe("The answer is 42");
  });

  it("takes the text of a last reply without a directive, never its code fences", async () => {
    const model = new ScriptedModel((request) => {
      const last = request.messages.at(-1)?.content;
      if (last === FINAL_ANSWER_PROMPT) {
        return "The total is 12.\n" + repl("print('checking')") + "\n```text\nnotes\n```";
      }
      return repl("print(1)");
    });
    const result = await rlmWith(model, { maxIterations: 1 }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("max_iterations");
    expect(result.answer).toBe("The total is 12.");
    expect(result.replHistory.at(-1)?.output).toContain("checking");
  });
});

describe("REPL persistence and sandbox loss", () => {
  it("keeps declarations across iterations and rebuilds a lost isolate by replay", async () => {
    const model = new ScriptedModel((request) => {
      switch (turnOf(request)) {
        case 1:
          return repl("const keep = 41\nlet counter = Math.random()\nprint(keep)");
        case 2:
          return repl("const hog = []\nwhile (true) hog.push('x'.repeat(2e7) + hog.length)");
        case 3:
          return repl("print(keep + 1, typeof counter)");
        default:
          return "FINAL(done)";
      }
    });
    // A generous CPU limit: near its heap limit V8 garbage-collects hard, and on a loaded
    // machine the CPU limit could otherwise fire before the memory limit.
    const result = await rlmWith(model, {
      limits: { cellTimeoutMs: 20_000, cellCpuMs: 15_000, memoryMb: 64 },
    }).completion("q", CONTEXT);
    expect(result.replHistory[1]?.error).toMatch(/memory/i);
    expect(result.replHistory[2]?.output).toBe("42 number");
    expect(result.replHistory[2]?.error).toBeUndefined();
  });
});

describe("sub-calls", () => {
  it("a failing sub-call reaches the code as a catchable error", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) throw new RlmError("bad_request", "the provider refused it");
      return turnOf(request) === 1
        ? repl(
            'try { await recursiveLm("q", "x") } catch (error) { print("caught: " + error.message) }',
          )
        : "FINAL(ok)";
    });
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.replHistory[0]?.output).toContain(
      "caught: sub-call failed: bad_request: the provider refused it",
    );
    expect(result.finishReason).toBe("final");
  });

  it("depth 2: recursiveLm runs a nested RLM with its own REPL", async () => {
    const events: RlmEvent[] = [];
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "plain";
      if (queryOf(request) === "inner question") {
        return turnOf(request) === 1
          ? repl("print(context)")
          : repl('FINAL("inner saw " + context.length + " chars")');
      }
      return turnOf(request) === 1
        ? repl('const answer = await recursiveLm("inner question", "abcdef")\nprint(answer)')
        : "FINAL_VAR(answer)";
    });
    const result = await rlmWith(model, {
      maxDepth: 2,
      onEvent: (event) => events.push(event),
    }).completion("outer", CONTEXT);
    expect(result.answer).toBe("inner saw 6 chars");
    // outer: 2 root calls; inner: 2 root calls.
    expect(result.totalCalls).toBe(4);
    expect(events.some((event) => event.type === "iteration_start" && event.depth === 1)).toBe(
      true,
    );
  });
});

describe("budgets and cancellation", () => {
  it("maxSubCalls stops the run with finishReason budget and a partial answer", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "sub answer";
      return turnOf(request) === 1
        ? repl(
            'const got = []\nfor (let i = 0; i < 5; i++) { try { got.push(await recursiveLm("q" + i, "x")) } catch (e) { got.push("stopped") } }\nprint(got.join(","))',
          )
        : repl('FINAL("should not get here")');
    });
    const result = await rlmWith(model, { budgets: { maxSubCalls: 2 } }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("budget");
    expect(result.error?.code).toBe("budget_exceeded");
    expect(result.answer).toBe("sub answer,sub answer,stopped,stopped,stopped");
  });

  it("maxTokens stops before the next model call", async () => {
    const model = new ScriptedModel(() => repl("print('x'.repeat(3000))"));
    const result = await rlmWith(model, { budgets: { maxTokens: 2_000 } }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("budget");
    expect(result.error?.message).toContain("token");
    expect(model.requests.length).toBeLessThan(10);
  });

  it("an AbortSignal cancels a running analysis", async () => {
    const controller = new AbortController();
    const model = new ScriptedModel(async (request) => {
      if (!isRoot(request)) {
        controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 10));
        return "late";
      }
      return repl('print(await recursiveLm("q", "x"))');
    });
    const result = await rlmWith(model).completion("q", CONTEXT, { signal: controller.signal });
    expect(result.finishReason).toBe("cancelled");
    expect(result.error?.code).toBe("cancelled");
  });

  it("deadlineMs stops a run whose sub-calls hang", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) {
        return new Promise<string>((_, reject) => {
          request.signal?.addEventListener("abort", () => reject(request.signal?.reason));
        });
      }
      return repl('print(await recursiveLm("q", "x"))');
    });
    const result = await rlmWith(model, { budgets: { deadlineMs: 300 } }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("budget");
    expect(result.error?.message).toContain("deadline");
  });
});

describe("input validation", () => {
  it("rejects an empty query or context with code invalid_input", async () => {
    const rlm = rlmWith(new ScriptedModel(() => "FINAL(x)"));
    await expect(rlm.completion("", CONTEXT)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(rlm.completion("q", "")).rejects.toMatchObject({ code: "invalid_input" });
    await expect(rlm.completion("q", 42 as unknown as string)).rejects.toMatchObject({
      code: "invalid_input",
    });
  });

  it("rejects bad options once, in the constructor", () => {
    expect(() => new Rlm({ apiKey: "k", maxIterations: -1 })).toThrow(/maxIterations/);
    expect(() => new Rlm({})).toThrow(/apiKey/);
  });
});

describe("journal and rebuild accounting", () => {
  const slowSub = (ms: number) =>
    new Promise<string>((resolve) => setTimeout(() => resolve("sub answer"), ms));

  it("rebuilding a lost isolate does not count earlier sub-calls again", async () => {
    const model = new ScriptedModel(async (request) => {
      if (!isRoot(request)) return "sub answer";
      switch (turnOf(request)) {
        case 1:
          return repl('const a = await recursiveLm("q", "x")');
        case 2:
          return repl("await new Promise(() => {})");
        case 3:
          return repl("print(a)");
        default:
          return "FINAL(done)";
      }
    });
    const result = await rlmWith(model, {
      limits: { cellTimeoutMs: 300, cellCpuMs: 2_000, memoryMb: 64 },
      budgets: { maxSubCalls: 1 },
    }).completion("q", CONTEXT);
    expect(result.finishReason).toBe("final");
    expect(result.replHistory[2]?.output).toBe("sub answer");
    expect(result.totalCalls).toBe(model.requests.length);
  });

  it("a replay takes a lost cell's outcome from the journal instead of running it again", async () => {
    const journal = new MemoryJournal();
    const script = (request: Parameters<ConstructorParameters<typeof ScriptedModel>[0]>[0]) => {
      if (!isRoot(request)) return slowSub(600);
      // Time awaiting the sub-call does not count; the wait on nothing after it does.
      return turnOf(request) === 1
        ? repl('print(await recursiveLm("q", "x"))\nawait new Promise(() => {})')
        : "FINAL(done)";
    };
    const limits = { cellTimeoutMs: 300, cellCpuMs: 2_000, memoryMb: 64 };
    const first = await rlmWith(new ScriptedModel(script), { limits }).completion("q", CONTEXT, {
      journal,
      analysisId: "lost-cell",
    });
    expect(first.replHistory[0]?.error).toBeDefined();
    const silent = new ScriptedModel(() => {
      throw new Error("a replay must not call the model");
    });
    const again = await rlmWith(silent, { limits }).completion("q", CONTEXT, {
      journal,
      analysisId: "lost-cell",
    });
    expect(silent.requests).toHaveLength(0);
    expect(again.messages).toEqual(first.messages);
    expect(again.answer).toBe(first.answer);
  });

  it("a replay stops where a budget stopped the first run, without a model call", async () => {
    const journal = new MemoryJournal();
    const fanOut = repl(
      "const parts = Array.from({ length: 20 }, (_, i) => String(i).repeat(4000));\n" +
        "print((await Promise.all(parts.map((p) => recursiveLm('q', p)))).length)",
    );
    const script = (request: Parameters<ConstructorParameters<typeof ScriptedModel>[0]>[0]) => {
      if (!isRoot(request)) return slowSub(20);
      return turnOf(request) === 1 ? fanOut : "FINAL(done)";
    };
    // ~1,000 tokens a sub-call: the budget runs out within the fan-out, which it stops.
    const options = { budgets: { maxTokens: 6_000 }, subConcurrency: 4 };
    const first = await rlmWith(new ScriptedModel(script), options).completion("q", CONTEXT, {
      journal,
      analysisId: "budget-stop",
    });
    expect(first.finishReason).toBe("budget");
    const silent = new ScriptedModel(() => {
      throw new Error("a replay must not call the model");
    });
    const again = await rlmWith(silent, options).completion("q", CONTEXT, {
      journal,
      analysisId: "budget-stop",
    });
    expect(silent.requests).toHaveLength(0);
    expect(again.finishReason).toBe("budget");
    expect(again.error?.message).toBe(first.error?.message);
  });

  it("a replay over a given journal sees the same REPL clock (a query built from Date)", async () => {
    const journal = new MemoryJournal();
    const script = (request: Parameters<ConstructorParameters<typeof ScriptedModel>[0]>[0]) => {
      if (!isRoot(request)) return "sub answer";
      return turnOf(request) === 1
        ? repl("print(await recursiveLm('since ' + new Date().toISOString(), 'x'))")
        : "FINAL(done)";
    };
    await rlmWith(new ScriptedModel(script)).completion("q", CONTEXT, {
      journal,
      analysisId: "clock-replay",
    });
    // Later: a run whose clock started now would ask a different question.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const silent = new ScriptedModel(() => {
      throw new Error("a replay must not call the model");
    });
    const again = await rlmWith(silent).completion("q", CONTEXT, {
      journal,
      analysisId: "clock-replay",
    });
    expect(silent.requests).toHaveLength(0);
    expect(again.answer).toBe("done");
  });

  it("a sub-call the code did not await finishes before the next model turn", async () => {
    let subFinishedAt = 0;
    let secondTurnAt = 0;
    const model = new ScriptedModel(async (request) => {
      if (!isRoot(request)) {
        const answer = await slowSub(200);
        subFinishedAt = Date.now();
        return answer;
      }
      if (turnOf(request) === 1)
        return repl('recursiveLm("fire and forget", "x")\nprint("started")');
      secondTurnAt = Date.now();
      return "FINAL(done)";
    });
    const result = await rlmWith(model).completion("q", CONTEXT);
    expect(result.answer).toBe("done");
    expect(subFinishedAt).toBeGreaterThan(0);
    expect(secondTurnAt).toBeGreaterThanOrEqual(subFinishedAt);
    expect(result.totalCalls).toBe(3);
  });

  it("cancellation and the deadline stop a cell that is still running", async () => {
    const hang = () => new ScriptedModel(() => repl("await new Promise(() => {})"));
    const limits = { cellTimeoutMs: 30_000, cellCpuMs: 2_000, memoryMb: 64 };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await rlmWith(hang(), { limits }).completion("q", CONTEXT, {
      signal: controller.signal,
    });
    expect(cancelled.finishReason).toBe("cancelled");
    expect(cancelled.replHistory[0]?.error).toMatch(/^Cancelled/);
    // Stopped by the signal, not by the 30 s wall-clock limit of the cell.
    expect(cancelled.durationMs).toBeLessThan(limits.cellTimeoutMs / 2);
    const late = await rlmWith(hang(), { limits, budgets: { deadlineMs: 300 } }).completion(
      "q",
      CONTEXT,
    );
    expect(late.finishReason).toBe("budget");
    expect(late.durationMs).toBeLessThan(limits.cellTimeoutMs / 2);
  });

  it("a replayed cell that asks for a call its first run did not make is reported", async () => {
    const script = (request: Parameters<ConstructorParameters<typeof ScriptedModel>[0]>[0]) => {
      if (!isRoot(request)) return "sub answer";
      return turnOf(request) === 1 ? repl('print(await recursiveLm("q", "x"))') : "FINAL(done)";
    };
    const journal = new MemoryJournal();
    await rlmWith(new ScriptedModel(script)).completion("q", CONTEXT, {
      journal,
      analysisId: "mismatch",
    });
    // The same journal without its sub-call records: as if the code had asked for
    // different arguments this time.
    const diverged = new MemoryJournal(
      new Map(journal.entries().filter(([key]) => !key.startsWith("sub:"))),
    );
    const events: RlmEvent[] = [];
    const model = new ScriptedModel(script);
    const again = await rlmWith(model, { onEvent: (event) => events.push(event) }).completion(
      "q",
      CONTEXT,
      { journal: diverged, analysisId: "mismatch" },
    );
    expect(again.answer).toBe("done");
    const mismatch = events.find((event) => event.type === "replay_mismatch");
    expect(mismatch).toMatchObject({ iteration: 1, block: 0, code: "replay_mismatch" });
    // Only the missing sub-call was made; the root turns came from the journal.
    expect(model.requests).toHaveLength(1);
  });

  it("a cell record that cannot be journaled ends the analysis with an error, not a crash", async () => {
    // Cell records are written while the analysis goes on; the failure must still surface.
    const inner = new MemoryJournal();
    const journal = {
      get: (key: string) => inner.get(key),
      putIfAbsent: (key: string, record: Parameters<MemoryJournal["putIfAbsent"]>[1]) =>
        key.startsWith("cell:")
          ? Promise.reject(
              new RlmError("journal_unavailable", "the journal is down", { retryable: true }),
            )
          : inner.putIfAbsent(key, record),
      scope: (prefix: string) => inner.scope(prefix),
    };
    const model = new ScriptedModel((request) =>
      turnOf(request) === 1 ? repl("print(1 + 1)") : "FINAL(done)",
    );
    const result = await rlmWith(model).completion("q", CONTEXT, { journal });
    expect(result.finishReason).toBe("error");
    expect(result.error?.code).toBe("journal_unavailable");
    // The turn after the cell was asked for, but not journaled or used.
    expect(result.answer).not.toBe("done");
  });
});

describe("the first sandbox", () => {
  it("is built once the first root request is on its way, not while the turn is looked up", async () => {
    // A journal as slow as a remote one: the turn's own lookup takes 30 ms.
    const memory = new MemoryJournal();
    const slow: Journal = {
      get: async (key) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return memory.get(key);
      },
      putIfAbsent: (key, record) => memory.putIfAbsent(key, record),
      scope: (prefix) => memory.scope(prefix),
    };
    const events: string[] = [];
    const factory = createIsolatedVmSandboxFactory();
    const watched: SandboxFactory = {
      loadDocument: (value) => {
        events.push("document loaded");
        return factory.loadDocument(value);
      },
      create: (options) => factory.create(options),
    };
    const model = new ScriptedModel((request) => {
      events.push(`root request ${turnOf(request)}`);
      return turnOf(request) === 1 ? repl("print(context.length)") : "FINAL(done)";
    });
    const result = await rlmWith(model, { sandboxFactory: watched }).completion("q", CONTEXT, {
      journal: slow,
    });
    expect(result.replHistory[0]?.output).toBe(String(CONTEXT.length));
    expect(events.slice(0, 2)).toEqual(["root request 1", "document loaded"]);
  });

  /** A sandbox factory over isolated-vm that notes when each sandbox starts being built. */
  function timedFactory(): { factory: SandboxFactory; builtAt: number[] } {
    const inner = createIsolatedVmSandboxFactory();
    const builtAt: number[] = [];
    return {
      builtAt,
      factory: {
        loadDocument: (context) => inner.loadDocument(context),
        create: (options) => {
          builtAt.push(performance.now());
          return inner.create(options);
        },
      },
    };
  }

  it("is built while the first root turn is out, once its request has left (reportsSent)", async () => {
    const { factory, builtAt } = timedFactory();
    let sentAt = 0;
    let answeredAt = 0;
    const scripted = new ScriptedModel(async (request) => {
      if (turnOf(request) > 1) return "FINAL_VAR(x)";
      // The request takes 150 ms to leave (a slow connection), then 150 ms to answer.
      await new Promise((resolve) => setTimeout(resolve, 150));
      sentAt = performance.now();
      request.onSent?.();
      await new Promise((resolve) => setTimeout(resolve, 150));
      answeredAt = performance.now();
      return repl("const x = context.length");
    });
    const model = Object.assign(scripted, { reportsSent: true as const });
    const result = await rlmWith(model, { sandboxFactory: factory }).completion("q", CONTEXT);
    expect(result.answer).toBe(String(CONTEXT.length));
    expect(builtAt).toHaveLength(1);
    // Not before the request left (it would have held it back), and not after the answer.
    expect(builtAt[0]!).toBeGreaterThanOrEqual(sentAt);
    expect(builtAt[0]!).toBeLessThan(answeredAt);
  });

  it("is built while the first root turn is out for a client that does not report sending", async () => {
    const { factory, builtAt } = timedFactory();
    let askedAt = 0;
    let answeredAt = 0;
    const model = new ScriptedModel(async (request) => {
      if (turnOf(request) > 1) return "FINAL_VAR(x)";
      askedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
      answeredAt = performance.now();
      return repl("const x = context.length");
    });
    await rlmWith(model, { sandboxFactory: factory }).completion("q", CONTEXT);
    expect(builtAt).toHaveLength(1);
    expect(builtAt[0]!).toBeGreaterThanOrEqual(askedAt);
    expect(builtAt[0]!).toBeLessThan(answeredAt);
  });
});

describe("a first run", () => {
  it("reads nothing from the journal when its caller says no run came before", async () => {
    const counted = async (firstRun: boolean) => {
      const memory = new MemoryJournal();
      let reads = 0;
      const journal: Journal = {
        get: (key) => {
          reads += 1;
          return memory.get(key);
        },
        putIfAbsent: (key, record) => memory.putIfAbsent(key, record),
        scope: (prefix) => memory.scope(prefix),
      };
      const model = new ScriptedModel((request) =>
        turnOf(request) === 1 ? repl('print(await recursiveLm("sub", "text"))') : "FINAL(done)",
      );
      const machine = new AnalysisMachine({
        analysisId: "first-run",
        query: "q",
        context: CONTEXT,
        options: resolveEngineOptions({ limits: { cellTimeoutMs: 5_000 } }),
        runtime: { model, sandboxFactory: createIsolatedVmSandboxFactory(), journal },
        firstRun,
      });
      try {
        const result = await machine.run();
        expect(result.finishReason).toBe("final");
      } finally {
        machine.dispose();
      }
      return reads;
    };
    expect(await counted(true)).toBe(0);
    expect(await counted(false)).toBeGreaterThan(0);
  });
});

describe("the REPL's clock", () => {
  it("starts when the analysis began (deterministic within it, not a date of 2024)", async () => {
    const before = Date.now();
    const model = new ScriptedModel(() => repl("FINAL(String(Date.now()))"));
    const result = await rlmWith(model).completion("q", CONTEXT);
    const clock = Number(result.answer);
    expect(clock).toBeGreaterThanOrEqual(before);
    expect(clock).toBeLessThanOrEqual(Date.now());
  });
});
