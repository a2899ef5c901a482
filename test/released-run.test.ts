import {
  AnalysisMachine,
  MemoryJournal,
  resolveEngineOptions,
  type SubCallExecutor,
  type SubCallRecord,
} from "@rlm/core";
import { createIsolatedVmSandboxFactory } from "rlm-queue";
import { describe, expect, it } from "vitest";
import { isRoot, repl, ScriptedModel, turnOf } from "./support/scripted-model.js";

describe("a run released while a cell waits", () => {
  it("journals nothing of that cell, so the rebuilt run runs it again with its answers", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "unused";
      return turnOf(request) === 1
        ? repl("const got = await recursiveLm('slow question', 'text')\nprint(got)")
        : "FINAL(done)";
    });
    let asked = 0;
    const slowElsewhere: SubCallExecutor = {
      execute: (task) => {
        asked += 1;
        return new Promise<SubCallRecord>((_resolve, reject) => {
          // Answered elsewhere, later; as the queue's executor, a released run stops
          // waiting for its calls.
          task.signal?.addEventListener("abort", () => reject(task.signal?.reason), { once: true });
        });
      },
    };
    const journal = new MemoryJournal();
    const runtime = {
      model,
      sandboxFactory: createIsolatedVmSandboxFactory(),
      journal,
      subCalls: slowElsewhere,
    };
    const options = resolveEngineOptions({ rootModel: "m" });
    const first = new AnalysisMachine({
      analysisId: "released",
      query: "q",
      context: "some text",
      options,
      runtime,
    });
    await first.step(); // start
    await first.step(); // root turn 1
    const cell = first.step(); // the cell, waiting for its sub-call
    while (asked === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    first.dispose(); // the run gives its job up, as a queue run parks
    await cell;
    expect(journal.entries().some(([key]) => key.startsWith("cell:"))).toBe(false);

    // The rebuilt run replays the turn, runs the cell again and gets an answer.
    const rebuilt = new AnalysisMachine({
      analysisId: "released",
      query: "q",
      context: "some text",
      options,
      runtime: {
        ...runtime,
        subCalls: {
          execute: async (task) => ({
            kind: "sub",
            argumentsHash: task.argumentsHash,
            query: task.query,
            contextChars: 4,
            answer: "the answer",
            usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
            byModel: {},
            calls: 1,
            durationMs: 1,
          }),
        },
      },
    });
    const result = await rebuilt.run();
    rebuilt.dispose();
    expect(result.replHistory.map((cellRun) => [cellRun.output, cellRun.error])).toEqual([
      ["the answer", undefined],
    ]);
    expect(result.answer).toBe("done");
  });
});
