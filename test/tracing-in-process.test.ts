import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { MemoryJournal, type RlmEvent, Rlm, SpanNames } from "rlm-queue";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { type MemoryTracing, memoryTracing } from "./support/memory-tracing.js";
import { isRoot, queryOf, repl, ScriptedModel, turnOf } from "./support/scripted-model.js";

// The engine's spans, in process, with an OpenTelemetry SDK keeping them in memory: one
// trace per analysis, root turns and cells under it, every sub-call under its cell (also
// though isolated-vm calls `recursiveLm` outside the cell's async context), nested
// analyses under their sub-call, and where each answer came from.
let tracing: MemoryTracing;
let mock: MockLlmServer;

beforeAll(async () => {
  tracing = memoryTracing();
  mock = await startMockLlmServer({ strategy: "map-reduce", chunkChars: 40_000 });
});

afterAll(async () => {
  await mock?.stop();
  await tracing?.shutdown();
});

beforeEach(() => tracing.reset());

const LIMITS = { cellTimeoutMs: 5_000, cellCpuMs: 2_000, memoryMb: 64 };
const attribute = (span: ReadableSpan, name: string) => span.attributes[name];

describe("an analysis in process is one trace", () => {
  it("root turns and cells under the analysis, each sub-call under its cell, with model, tokens and cost", async () => {
    const document = makeDocument({ chars: 200_000, markerCount: 11, seed: 3 });
    const rlm = new Rlm({ baseURL: mock.url, apiKey: "k", rootModel: "gpt-4.1-mini" });
    const result = await rlm.completion(
      `How many times does "${document.marker}" appear?`,
      document.text,
    );
    expect(result.answer.trim()).toBe("11");

    const [analysis, ...others] = tracing.named(SpanNames.analysis);
    expect(others).toEqual([]);
    expect(analysis?.parentSpanContext).toBeUndefined();
    const traceId = analysis?.spanContext().traceId;
    expect(new Set(tracing.spans().map((span) => span.spanContext().traceId))).toEqual(
      new Set([traceId]),
    );

    const turns = tracing.named(SpanNames.rootTurn);
    expect(turns).toHaveLength(result.iterations);
    for (const turn of turns) expect(tracing.parentOf(turn)).toBe(analysis);
    const cells = tracing.named(SpanNames.cell);
    expect(cells.length).toBe(result.replHistory.length);
    for (const cell of cells) expect(tracing.parentOf(cell)).toBe(analysis);

    const subCalls = tracing.named(SpanNames.subCall);
    const madeBySub = mock.requests().filter((request) => request.kind === "sub").length;
    expect(subCalls).toHaveLength(madeBySub);
    expect(subCalls.length).toBeGreaterThan(1);
    for (const call of subCalls) {
      expect(tracing.parentOf(call)?.name).toBe(SpanNames.cell);
      expect(attribute(call, "rlm.sub_call.source")).toBe("executed");
      expect(attribute(call, "gen_ai.response.model")).toBe("gpt-4.1-mini");
      expect(attribute(call, "gen_ai.usage.input_tokens")).toBeGreaterThan(0);
      expect(attribute(call, "rlm.cost_usd")).toBeGreaterThan(0);
    }
    // The figures on the spans add up to the result's.
    const sum = (spans: ReadableSpan[], name: string) =>
      spans.reduce((total, span) => total + Number(attribute(span, name) ?? 0), 0);
    const tokens = sum([...turns, ...subCalls], "gen_ai.usage.input_tokens");
    expect(tokens).toBe(result.usage.inputTokens);
    expect(sum([...turns, ...subCalls], "rlm.cost_usd")).toBeCloseTo(result.usage.costUsd ?? 0, 9);
    expect(attribute(analysis!, "gen_ai.usage.output_tokens")).toBe(result.usage.outputTokens);
    // Each call's span lies within its cell's.
    for (const call of subCalls) {
      const cell = tracing.parentOf(call)!;
      expect(call.startTime[0] * 1e9 + call.startTime[1]).toBeGreaterThanOrEqual(
        cell.startTime[0] * 1e9 + cell.startTime[1],
      );
    }
  });

  it("a nested analysis is a span under the sub-call that asked for it", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "plain";
      if (queryOf(request) === "inner question") {
        return turnOf(request) === 1 ? repl("print(context)") : repl('FINAL("inner done")');
      }
      return turnOf(request) === 1
        ? repl('const answer = await recursiveLm("inner question", "abcdef")\nprint(answer)')
        : "FINAL_VAR(answer)";
    });
    const rlm = new Rlm({ modelClient: model, limits: LIMITS, maxDepth: 2 });
    const result = await rlm.completion("outer", "alpha beta gamma\n".repeat(100));
    expect(result.answer).toBe("inner done");

    const analyses = tracing.named(SpanNames.analysis);
    expect(analyses).toHaveLength(2);
    const outer = analyses.find((span) => attribute(span, "rlm.depth") === 0)!;
    const inner = analyses.find((span) => attribute(span, "rlm.depth") === 1)!;
    const subCall = tracing.parentOf(inner)!;
    expect(subCall.name).toBe(SpanNames.subCall);
    expect(attribute(subCall, "rlm.sub_call.nested")).toBe(true);
    expect(tracing.parentOf(subCall)?.name).toBe(SpanNames.cell);
    expect(tracing.parentOf(tracing.parentOf(subCall)!)).toBe(outer);
    const innerTurns = tracing
      .named(SpanNames.rootTurn)
      .filter((span) => tracing.parentOf(span) === inner);
    expect(innerTurns).toHaveLength(2);
    // The nested analysis's two model calls are counted on the sub-call's span.
    expect(attribute(subCall, "gen_ai.usage.output_tokens")).toBe(
      innerTurns.reduce(
        (sum, span) => sum + Number(attribute(span, "gen_ai.usage.output_tokens")),
        0,
      ),
    );
  });

  it("says where each answer came from: carried out, an identical call, or the journal", async () => {
    const model = new ScriptedModel((request) => {
      if (!isRoot(request)) return "the answer";
      return turnOf(request) === 1
        ? repl(
            'const a = await recursiveLm("q", "same")\nconst b = await recursiveLm("q", "same")\nprint(a + b)',
          )
        : repl('FINAL("done")');
    });
    const journal = new MemoryJournal();
    const rlm = new Rlm({ modelClient: model, limits: LIMITS });
    await rlm.completion("outer", "text", { journal, analysisId: "traced-1" });
    const first = tracing
      .named(SpanNames.subCall)
      .map((span) => attribute(span, "rlm.sub_call.source"));
    expect(first.sort()).toEqual(["executed", "same_as"]);
    const identical = tracing
      .named(SpanNames.subCall)
      .find((span) => attribute(span, "rlm.sub_call.source") === "same_as")!;
    // No model call behind it: no usage on its span.
    expect(attribute(identical, "gen_ai.usage.input_tokens")).toBeUndefined();
    expect(
      tracing.named(SpanNames.rootTurn).map((span) => attribute(span, "rlm.replayed")),
    ).toEqual([undefined, undefined]);

    tracing.reset();
    const calls = model.requests.length;
    await rlm.completion("outer", "text", { journal, analysisId: "traced-1" });
    expect(model.requests.length).toBe(calls);
    expect(
      tracing.named(SpanNames.subCall).map((span) => attribute(span, "rlm.sub_call.source")),
    ).toEqual(["journal", "journal"]);
    expect(
      tracing.named(SpanNames.rootTurn).map((span) => attribute(span, "rlm.replayed")),
    ).toEqual([true, true]);
  });

  it("a REPL rebuilt after its isolate was lost is a span, and the lost cell says so", async () => {
    const events: RlmEvent[] = [];
    const model = new ScriptedModel((request) => {
      const turn = turnOf(request);
      if (turn === 1) return repl("const kept = 41\nprint(kept)");
      if (turn === 2) {
        return repl(
          "const hog = []\nfor (let i = 0; i < 1e4; i++) hog.push(new Array(1e6).fill(i))",
        );
      }
      if (turn === 3) return repl("print(kept + 1)");
      return repl('FINAL("done")');
    });
    const rlm = new Rlm({
      modelClient: model,
      limits: LIMITS,
      onEvent: (event) => events.push(event),
    });
    const result = await rlm.completion("outer", "text");
    expect(result.replHistory[2]?.output.trim()).toBe("42");

    const lost = events.filter((event) => event.type === "cell_end" && event.sandboxLost);
    expect(lost).toHaveLength(1);
    const [rebuild, ...more] = tracing.named(SpanNames.replRebuild);
    expect(more).toEqual([]);
    expect(attribute(rebuild!, "rlm.repl.cells")).toBe(1);
    const cellOfRebuild = tracing.parentOf(rebuild!)!;
    expect(cellOfRebuild.name).toBe(SpanNames.cell);
    expect(attribute(cellOfRebuild, "rlm.iteration")).toBe(3);
    const lostCell = tracing
      .named(SpanNames.cell)
      .find((span) => attribute(span, "rlm.cell.sandbox_lost") === true);
    expect(attribute(lostCell!, "rlm.iteration")).toBe(2);
    expect(lostCell?.status.code).toBe(2); // SpanStatusCode.ERROR
  });
});
