import { MemoryJournal } from "@rlm/core";
import { type HabitName, type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { Rlm, type RlmOptions } from "rlm-queue";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";

// What real root models write (published RLM trajectories), played by the mock's habits,
// end to end in process: real openai client over HTTP, real isolated-vm. Each habit
// recovers only when the REPL's feedback says what was wrong, so each test fails on an
// engine that does not.
const document = makeDocument({ chars: 400_000, markerCount: 23, sections: 6 });
const countQuery = `How many times does "${document.marker}" appear?`;

let mock: MockLlmServer;

beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 2 });
});

afterAll(async () => {
  await mock?.stop();
});

beforeEach(() => {
  mock.reset();
});

function rlm(options: Partial<RlmOptions> = {}): Rlm {
  return new Rlm({
    baseURL: mock.url,
    apiKey: "test-key",
    rootModel: "mock-root",
    subModel: "mock-sub",
    subConcurrency: 8,
    maxIterations: 8,
    ...options,
  });
}

function play(habits: HabitName[], strategy: "map-reduce" | "peek-grep", chunkChars = 60_000) {
  mock.configure({ strategy, chunkChars, habits });
}

const subCallsMade = () => mock.requests().filter((request) => request.kind === "sub").length;
const chunksOf = (chars: number) => Math.ceil(document.text.length / chars);

describe("real-model habits, in process", () => {
  it("a FINAL mentioned in a plan is not the answer: the model is told nothing ran", async () => {
    play(["final-in-plan"], "peek-grep");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const told = result.messages.find((message) =>
      message.content.includes("Nothing ran and no answer was taken"),
    );
    expect(told?.role).toBe("user");
  });

  it("code holding ``` in strings runs whole", async () => {
    play(["backticks-in-code"], "map-reduce");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.replHistory.some((cell) => cell.code.includes('startsWith("```")'))).toBe(true);
    expect(result.replHistory.every((cell) => cell.error === undefined)).toBe(true);
    expect(result.answer.trim()).toBe(String(document.markerCount));
  });

  it("a forgotten await is told, and asking again is not paid twice", async () => {
    play(["forgotten-await"], "map-reduce");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.finishReason).toBe("final");
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const unawaited = result.replHistory.find((cell) => (cell.unawaitedSubCalls ?? 0) > 0);
    expect(unawaited?.output).toContain("Promise { <pending> }");
    expect(unawaited?.unawaitedSubCalls).toBe(chunksOf(60_000));
    // Every chunk asked twice, answered once.
    expect(subCallsMade()).toBe(chunksOf(60_000));
    const subCallsInCells = result.replHistory.reduce((sum, cell) => sum + cell.subCalls, 0);
    expect(subCallsInCells).toBe(2 * chunksOf(60_000));
  });

  it("the RLM paper's names work: llm_query_batched over prompts that hold the chunk", async () => {
    play(["paper-names"], "map-reduce");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.replHistory.some((cell) => cell.code.includes("llm_query_batched("))).toBe(true);
    expect(result.answer.trim()).toBe(String(document.markerCount));
    expect(subCallsMade()).toBe(chunksOf(60_000));
  });

  it("a python fence is told to be JavaScript, with the JavaScript forms", async () => {
    play(["python-fence"], "peek-grep");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const told = result.messages.find((message) =>
      message.content.includes("This REPL runs JavaScript, not Python"),
    );
    expect(told?.content).toContain("`len(x)` → `x.length`");
    expect(told?.content).toContain("x.slice(0, n)");
  });

  it("Python in a repl block gets the syntax error's line, column, caret and the hint", async () => {
    play(["python-in-repl"], "peek-grep");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const failed = result.replHistory.find((cell) => cell.error !== undefined);
    expect(failed?.error).toMatch(
      /^SyntaxError: Unexpected token \(line 3, column \d+\)\n {2}print\(text\[:300\]\)\n {2}\s*\^\nThis REPL runs JavaScript, not Python/,
    );
  });

  it("a sequential await loop over slow sub-calls is not a runaway cell", async () => {
    // 7 chunks × 300 ms of waiting under a 1 s wall-clock limit per cell.
    mock.configure({ latencyMs: 300 });
    play(["sequential-await"], "map-reduce");
    try {
      const result = await rlm({ limits: { cellTimeoutMs: 1_000 } }).completion(
        countQuery,
        document.text,
      );
      expect(result.replHistory.some((cell) => cell.code.includes("for (const c of chunks)"))).toBe(
        true,
      );
      expect(result.replHistory.every((cell) => cell.error === undefined)).toBe(true);
      expect(result.answer.trim()).toBe(String(document.markerCount));
    } finally {
      mock.configure({ latencyMs: 2 });
    }
  });

  it("FINAL_VAR in code with a value (a word naming no variable) answers with that value", async () => {
    mock.configure({ strategy: "needle", habits: ["final-var-value"] });
    const result = await rlm().completion(
      'What is the "vault access code" for the Rotterdam hub?',
      document.text,
    );
    expect(result.replHistory.at(-1)?.code).toContain("FINAL_VAR(lastWord)");
    expect(result.finishReason).toBe("final");
    expect(result.answer).toBe("ZETA");
  });

  it("a text FINAL_VAR of a missing variable is told the variables that exist", async () => {
    play(["missing-final-var"], "peek-grep");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const told = result.messages.find(
      (message) => message.role === "user" && message.content.includes("FINAL_VAR(result)"),
    );
    expect(told?.content).toMatch(/The variables defined are: .*\bcount\b/);
  });

  it("a typed answer: the schema is told, a plain answer refused with the reason, the object returned", async () => {
    play(["untyped-final"], "map-reduce");
    const outputSchema = {
      type: "object",
      properties: { count: { type: "integer" }, term: { type: "string" } },
      required: ["count", "term"],
      additionalProperties: false,
    };
    const result = await rlm().completion(countQuery, document.text, { outputSchema });
    expect(result.finishReason).toBe("final");
    expect(result.output).toEqual({
      count: document.markerCount,
      term: String(document.markerCount),
    });
    expect(JSON.parse(result.answer)).toEqual(result.output);
    expect(result.messages[1]?.content).toContain('"required":["count","term"]');
    const refused = result.messages.find((message) =>
      message.content.includes("Your FINAL answer was not taken"),
    );
    expect(refused?.content).toContain("must be object");
  });

  it("typed sub-calls go out with response_format where the provider takes it", async () => {
    play(["typed-sub-calls"], "map-reduce");
    const result = await rlm().completion(countQuery, document.text);
    expect(result.answer.trim()).toBe(String(document.markerCount));
    const subs = mock.requests().filter((request) => request.kind === "sub");
    expect(subs).toHaveLength(chunksOf(60_000));
    expect(subs.every((request) => request.responseFormat === "json_schema")).toBe(true);
  });

  it("typed sub-calls without Structured Outputs: asked by prompt, fenced JSON parsed, loose JSON asked once more", async () => {
    play(["typed-sub-calls"], "map-reduce");
    mock.configure({ rejectResponseFormat: true, habits: ["typed-sub-calls", "loose-json"] });
    try {
      const result = await rlm().completion(countQuery, document.text);
      expect(result.answer.trim()).toBe(String(document.markerCount));
      const subs = mock.requests().filter((request) => request.kind === "sub");
      // response_format refused by the calls sent before the first refusal came back (then
      // remembered for the model), then per chunk: the prompted answer with quoted numbers
      // (refused by the schema) and the corrected one.
      const refused = subs.filter((request) => request.status === 400);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeLessThanOrEqual(chunksOf(60_000));
      const firstAccepted = Math.min(
        ...subs.filter((request) => request.status === 200).map((request) => request.startedAt),
      );
      expect(refused.every((request) => request.startedAt < firstAccepted)).toBe(true);
      expect(subs.length - refused.length).toBe(2 * chunksOf(60_000));
      expect(result.usage.byModel["mock-sub"]?.inputTokens).toBeGreaterThan(0);
    } finally {
      mock.configure({ rejectResponseFormat: false });
    }
  });

  it("an invalid output schema is the caller's error before any model call", async () => {
    await expect(
      rlm().completion(countQuery, document.text, { outputSchema: { type: "no-such-type" } }),
    ).rejects.toMatchObject({ code: "invalid_options" });
    expect(mock.requests()).toHaveLength(0);
  });

  it("replaying a journal with deduplicated calls, aliases and a typed answer makes no model call", async () => {
    play(["forgotten-await", "paper-names", "untyped-final"], "map-reduce");
    const outputSchema = { type: "object", properties: { count: { type: "integer" } } };
    const journal = new MemoryJournal();
    const first = await rlm().completion(countQuery, document.text, {
      journal,
      analysisId: "habits-replay",
      outputSchema,
    });
    expect(first.output).toEqual({ count: document.markerCount });
    const made = mock.requests().length;
    const again = await rlm().completion(countQuery, document.text, {
      journal,
      analysisId: "habits-replay",
      outputSchema,
    });
    expect(mock.requests()).toHaveLength(made);
    expect(again.answer).toBe(first.answer);
    expect(again.output).toEqual(first.output);
    expect(again.messages).toEqual(first.messages);
  });
});
