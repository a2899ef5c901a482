import type { SubCallRequest } from "@rlm/core";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, openSandbox } from "./helpers.js";

afterEach(closeAll);

/** A handler that answers after `ms`, recording each request. */
function slowHandler(ms: number, seen: SubCallRequest[] = []) {
  return async (request: SubCallRequest) => {
    seen.push(request);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `answer: ${request.query}`;
  };
}

describe("habits of real models, in the sandbox", () => {
  it("prints an un-awaited sub-call as Promise { <pending> } and counts it at the cell's end", async () => {
    const t = await openSandbox({ onSubCall: slowHandler(50) });
    const result = await t.run(
      "const parts = ['a', 'b', 'c'].map((p) => recursiveLm('summarize ' + p))\nprint(parts[0])\nprint(parts.length)",
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe("Promise { <pending> }\n3");
    expect(result.unawaitedSubCalls).toBe(3);
    expect(result.subCalls).toBe(3);
  });

  it("prints a settled sub-call promise with its value, and counts nothing when every call was awaited", async () => {
    const t = await openSandbox({ onSubCall: slowHandler(5) });
    const result = await t.run("const p = recursiveLm('q')\nawait p\nprint(p)");
    expect(result.output).toBe('Promise { "answer: q" }');
    expect(result.unawaitedSubCalls).toBeUndefined();
  });

  it("has the reference implementation's names: llm_query, rlm_query and llm_query_batched", async () => {
    const seen: SubCallRequest[] = [];
    const t = await openSandbox({ onSubCall: slowHandler(5, seen) });
    const result = await t.run(
      [
        "const one = await llm_query('first')",
        "const two = await rlm_query('second', 'some text')",
        "const many = await llm_query_batched(['x', 'y', 'z'])",
        "print(one, '|', two, '|', many.join(', '))",
      ].join("\n"),
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe("answer: first | answer: second | answer: x, answer: y, answer: z");
    expect(seen.map((request) => request.query)).toEqual(["first", "second", "x", "y", "z"]);
    expect(seen[1]?.context).toBe("some text");
    const wrong = await t.run("await llm_query_batched('not a list')");
    expect(wrong.error).toMatch(
      /^TypeError: llm_query_batched\(prompts\): prompts must be an array/,
    );
  });

  it("sends a sub-call's schema to the host and gives the code the parsed object", async () => {
    const seen: SubCallRequest[] = [];
    const t = await openSandbox({
      onSubCall: async (request) => {
        seen.push(request);
        return JSON.stringify({ count: 3, names: ["a", "b"] });
      },
    });
    const result = await t.run(
      "const r = await recursiveLm('count', 'text', { schema: { type: 'object', properties: { count: { type: 'integer' } } } })\nprint(typeof r, r.count + 1, r.names[1])",
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe("object 4 b");
    expect(seen[0]?.schema).toEqual({ type: "object", properties: { count: { type: "integer" } } });
    const bad = await t.run("await recursiveLm('q', 'x', { schema: 'integer' })");
    expect(bad.error).toMatch(/schema must be a JSON Schema object/);
  });

  it("refuses more pending sub-calls than the limit with an error the model can act on", async () => {
    const t = await openSandbox({ limits: { maxPendingSubCalls: 50 }, onSubCall: slowHandler(20) });
    const result = await t.run(
      "await Promise.all(Array.from({ length: 100 }, (_, i) => recursiveLm('q' + i)))",
    );
    expect(result.error).toMatch(
      /^RangeError: recursiveLm: more than 50 sub-calls pending in one cell; await them in batches/,
    );
    expect(result.subCalls).toBe(50);
    const batched = await t.run(
      "const out = []\nfor (let i = 0; i < 100; i += 50) out.push(...await Promise.all(Array.from({ length: 50 }, (_, j) => recursiveLm('q' + (i + j)))))\nprint(out.length)",
    );
    expect(batched.error).toBeUndefined();
    expect(batched.output).toBe("100");
  });

  it("refuses a FINAL over the answer limit and keeps the cell's REPL", async () => {
    const t = await openSandbox({ limits: { answerChars: 1000 } });
    const result = await t.run("const big = 'x'.repeat(5000)\nFINAL(big)");
    expect(result.final).toBeUndefined();
    expect(result.error).toBe(
      "RangeError: FINAL: the answer is 5000 characters, over the limit of 1000 characters; answer with a summary, or keep the data in a variable and report what it holds (line 2)",
    );
    expect(result.sandboxLost).toBe(false);
    const ok = await t.run("FINAL(big.length)");
    expect(ok.final).toEqual({ answer: "5000", via: "FINAL" });
  });

  it("refuses a FINAL whose JSON would not fit in a string at all, without losing the REPL", async () => {
    const t = await openSandbox({
      limits: { memoryMb: 256, cellCpuMs: 5000, cellTimeoutMs: 10_000 },
    });
    // 2^20 references to one 300-character string: JSON.stringify would need ~300 MB.
    const result = await t.run(
      "const s = 'y'.repeat(300)\nconst many = new Array(2 ** 20).fill(s)\nFINAL(many)",
    );
    expect(result.final).toBeUndefined();
    expect(result.error).toMatch(/^RangeError: FINAL: the answer is (too large|\d+ characters)/);
  });

  it("lists the variables the code defined", async () => {
    const t = await openSandbox();
    await t.run("const total = 3\nlet names = ['a']\nfunction helper() {}\nvar counter = 0");
    const names = await t.sandbox.variableNames();
    expect(names.sort()).toEqual(["counter", "helper", "names", "total"]);
  });
});
