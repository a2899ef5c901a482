import { afterEach, describe, expect, it } from "vitest";
import { createIsolatedVmSandboxFactory, SandboxError } from "../src/index.js";
import { closeAll, openSandbox, TEST_LIMITS } from "./helpers.js";

afterEach(closeAll);

describe("persistent globals", () => {
  it("keeps const, let, var, function, class and destructured names across cells", async () => {
    const t = await openSandbox();
    const first = await t.run(
      [
        "const a = 1;",
        "let b = 2, c;",
        "var d = 4;",
        "function twice(x) { return x * 2 }",
        "class Box { constructor(v) { this.v = v } get doubled() { return twice(this.v) } }",
        "const { e, f: [g, , h = 8], ...rest } = { e: 5, f: [6, 0], i: 9, j: 10 };",
        "const [k, ...ks] = [11, 12, 13];",
      ].join("\n"),
    );
    expect(first.error).toBeUndefined();
    const second = await t.run(
      "print(a, b, c, d, twice(3), new Box(7).doubled, e, g, h, rest, k, ks)",
    );
    expect(second.error).toBeUndefined();
    expect(second.output).toBe('1 2 undefined 4 6 14 5 6 8 {"i": 9, "j": 10} 11 [12, 13]');
  });

  it("keeps declarations of cells that use top-level await", async () => {
    const t = await openSandbox();
    const first = await t.run(
      [
        "const answer = await recursiveLm('first');",
        "let { length } = await Promise.resolve('abcd');",
        "async function later() { return (await recursiveLm('later')).toUpperCase() }",
        "class Holder { static value = answer }",
        "for (var i = 0; i < 3; i++) {}",
        "for (let hidden = 0; hidden < 1; hidden++) {}",
        "if (true) { var nested = 'yes' }",
      ].join("\n"),
    );
    expect(first.error).toBeUndefined();
    const second = await t.run(
      "print(answer, length, await later(), Holder.value, i, nested, typeof hidden)",
    );
    expect(second.error).toBeUndefined();
    expect(second.output).toBe("answer: first 4 ANSWER: LATER answer: first 3 yes undefined");
  });

  it("lets a later cell declare the same const again, as a REPL does", async () => {
    const t = await openSandbox();
    await t.run("const x = 1");
    const again = await t.run("const x = 2; let y; x");
    expect(again.error).toBeUndefined();
    expect(again.output).toBe("2");
    expect((await t.run("x + 1")).output).toBe("3");
  });

  it("hoists a function declaration within its cell", async () => {
    const t = await openSandbox();
    const result = await t.run("print(early()); function early() { return 'hoisted' }");
    expect(result.output).toBe("hoisted");
  });
});

describe("output", () => {
  it("shows the last expression's value like a REPL, but not undefined or print calls", async () => {
    const t = await openSandbox();
    expect((await t.run("const n = 20; n + 22")).output).toBe("42");
    expect((await t.run("'raw text'")).output).toBe("raw text");
    expect((await t.run("({ a: [1, 'x'], b: null })")).output).toBe('{"a": [1, "x"], "b": null}');
    expect((await t.run("undefined")).output).toBe("");
    expect((await t.run("1 + 1 // a comment")).output).toBe("2");
    expect((await t.run("(1, 2);")).output).toBe("2");
    expect((await t.run("print('once')")).output).toBe("once");
    expect((await t.run("console.log('logged')")).output).toBe("logged");
    expect((await t.run("await recursiveLm('shown')")).output).toBe("answer: shown");
  });

  it("captures print and console.* in order, newline-separated", async () => {
    const t = await openSandbox();
    const result = await t.run(
      "print('a', 1, true); console.log('b'); console.info('c'); console.warn('d'); console.error('e', [1])",
    );
    expect(result.output).toBe("a 1 true\nb\nc\nd\ne [1]");
  });

  it("formats values safely: cycles, maps, sets, errors, functions, bigint, symbols", async () => {
    const t = await openSandbox();
    const result = await t.run(
      [
        "const loop = { name: 'loop' }; loop.self = loop;",
        "print(loop);",
        "print(new Map([['k', 1]]), new Set([1, 2]));",
        "print(new TypeError('bad'), function named() {}, 10n, Symbol('s'), -0, NaN);",
        "print([undefined, null], new Date(0), /re/g);",
      ].join("\n"),
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe(
      [
        '{"name": "loop", "self": [Circular]}',
        'Map(1) {"k" => 1} Set(2) {1, 2}',
        "TypeError: bad [Function: named] 10n Symbol(s) -0 NaN",
        '[undefined, null] "1970-01-01T00:00:00.000Z" /re/g',
      ].join("\n"),
    );
  });

  it("truncates output at the limit with one notice saying how much was cut", async () => {
    const t = await openSandbox({ limits: { outputChars: 50 } });
    const result = await t.run("print('a'.repeat(200)); print('more')");
    // 150 characters of the first line, the newline and "more" were not kept.
    expect(result.output).toBe(
      `${"a".repeat(50)}\n... [output truncated: 155 more characters not shown]`,
    );
  });
});

describe("errors", () => {
  it("returns a syntax error with its line, without running anything", async () => {
    const t = await openSandbox();
    const result = await t.run("print('ran');\nconst = 5;");
    expect(result.output).toBe("");
    expect(result.error).toBe(
      "SyntaxError: Unexpected token (line 2, column 7)\n  const = 5;\n        ^",
    );
    expect(result.sandboxLost).toBe(false);
  });

  it("returns runtime errors as text with the line of the model's code", async () => {
    const t = await openSandbox();
    const result = await t.run("print('before');\n\nmissing();");
    expect(result.output).toBe("before");
    expect(result.error).toBe("ReferenceError: missing is not defined (line 3)");
  });
});

describe("FINAL and FINAL_VAR", () => {
  it("records FINAL (strings as-is, other values as JSON); the cell keeps running; last wins", async () => {
    const t = await openSandbox();
    const text = await t.run("FINAL('first'); print('still running'); FINAL('the answer')");
    expect(text.final).toEqual({ answer: "the answer", via: "FINAL" });
    expect(text.output).toBe("still running");
    const json = await t.run("FINAL({ total: 3, items: ['a'] })");
    expect(json.final).toEqual({
      answer: JSON.stringify({ total: 3, items: ["a"] }, null, 2),
      via: "FINAL",
    });
    expect((await t.run("1")).final).toBeUndefined();
  });

  it("takes FINAL_VAR's variable when the string names one, else the value itself", async () => {
    const t = await openSandbox();
    await t.run("const summary = 'all good'");
    expect((await t.run("FINAL_VAR('summary')")).final).toEqual({
      answer: "all good",
      via: "FINAL_VAR",
    });
    // A string that could be a name but names no variable is the answer itself: models
    // write FINAL_VAR(result) where result holds the text "Tuesday" (or "nothing").
    const missing = await t.run("FINAL_VAR('nothing')");
    expect(missing.error).toBeUndefined();
    expect(missing.final).toEqual({ answer: "nothing", via: "FINAL_VAR" });
    await t.run("const day = 'Tuesday'");
    expect((await t.run("FINAL_VAR(day)")).final).toEqual({ answer: "Tuesday", via: "FINAL_VAR" });
    // A common slip: passing the value instead of the name.
    const byValue = await t.run("FINAL_VAR(summary)");
    expect(byValue.error).toBeUndefined();
    expect(byValue.final).toEqual({ answer: "all good", via: "FINAL_VAR" });
    const number = await t.run("FINAL_VAR(42)");
    expect(number.final).toEqual({ answer: "42", via: "FINAL_VAR" });
    const nothing = await t.run("FINAL_VAR()");
    expect(nothing.error).toMatch(/^TypeError: FINAL_VAR\(name\) takes the variable name/);
  });
});

describe("readVariable", () => {
  it("reads strings as-is, other values as JSON, undefined when missing", async () => {
    const t = await openSandbox();
    await t.run("const s = 'text'; const o = { a: [1, 2] }; let u;");
    expect(await t.sandbox.readVariable("s")).toBe("text");
    expect(await t.sandbox.readVariable("o")).toBe(JSON.stringify({ a: [1, 2] }, null, 2));
    expect(await t.sandbox.readVariable("u")).toBeUndefined();
    expect(await t.sandbox.readVariable("neverDeclared")).toBeUndefined();
  });

  it("rejects names that are not identifiers", async () => {
    const t = await openSandbox();
    await expect(t.sandbox.readVariable("a.b")).rejects.toBeInstanceOf(SandboxError);
    await expect(t.sandbox.readVariable("x; process")).rejects.toMatchObject({
      code: "invalid_variable_name",
    });
  });
});

describe("determinism", () => {
  const sample = "print(Date.now(), new Date().getTime(), Math.random(), Math.random())";

  it("replays Date and Math.random per cellKey, whatever ran before", async () => {
    const t = await openSandbox();
    const first = await t.run(sample, "3.1");
    await t.run("for (let i = 0; i < 100; i++) { Math.random(); Date.now(); new Date() }", "3.2");
    await t.run("Math.random = () => 0.5; Date = null", "3.3");
    const replay = await t.run(sample, "3.1");
    const other = await t.run(sample, "4.1");
    expect(replay.output).toBe(first.output);
    expect(other.output).not.toBe(first.output);
    const fresh = await openSandbox();
    expect((await fresh.run(sample, "3.1")).output).toBe(first.output);
  });

  it("advances the fake clock per reading and leaves dates with arguments alone", async () => {
    const t = await openSandbox();
    const result = await t.run(
      "const t0 = Date.now(); const t1 = Date.now(); print(t1 - t0, new Date(0).toISOString(), new Date(2020, 0, 1) instanceof Date, typeof Date())",
    );
    expect(result.output).toBe("1 1970-01-01T00:00:00.000Z true string");
  });

  it("starts the clock where it is told (when the analysis began), in every cell", async () => {
    const start = Date.UTC(2026, 11, 1, 3, 0, 0);
    const t = await openSandbox({ seed: "analysis-a", clockStartMs: start });
    const code = "print(new Date().toISOString())";
    expect((await t.run(code, "1")).output).toBe("2026-12-01T03:00:00.000Z");
    expect((await t.run(code, "2")).output).toBe("2026-12-01T03:00:00.000Z");
    const other = await openSandbox({ seed: "analysis-b", clockStartMs: start });
    expect((await other.run(code, "1")).output).toBe("2026-12-01T03:00:00.000Z");
  });

  it("derives the clock from the seed", async () => {
    const a = await openSandbox({ seed: "analysis-a" });
    const b = await openSandbox({ seed: "analysis-b" });
    expect((await a.run("Date.now()", "1")).output).not.toBe(
      (await b.run("Date.now()", "1")).output,
    );
  });
});

describe("context", () => {
  it("exposes a string document", async () => {
    const t = await openSandbox({ context: "line one\nline two" });
    expect((await t.run("context.split('\\n').length + ' ' + typeof context")).output).toBe(
      "2 string",
    );
  });

  it("exposes an array of strings", async () => {
    const t = await openSandbox({ context: ["a", "bb", "ccc"] });
    expect(
      (await t.run("Array.isArray(context) + ' ' + context.map((s) => s.length)")).output,
    ).toBe("true 1,2,3");
  });

  it("exposes a JSON object", async () => {
    const t = await openSandbox({ context: { title: "T", items: [{ n: 1 }, { n: 2 }] } });
    expect((await t.run("context.title + context.items.reduce((s, i) => s + i.n, 0)")).output).toBe(
      "T3",
    );
  });
});

describe("lifecycle", () => {
  it("counts sub-calls and reports duration", async () => {
    const t = await openSandbox();
    const result = await t.run(
      "await recursiveLm('a'); await Promise.all([recursiveLm('b'), recursiveLm('c')])",
    );
    expect(result.subCalls).toBe(3);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it("idles, disposes, and then answers every cell with a lost-sandbox error", async () => {
    const t = await openSandbox();
    await t.run("const kept = 1");
    await expect(t.sandbox.idle()).resolves.toBeUndefined();
    expect(t.sandbox.disposed).toBe(false);
    t.sandbox.dispose();
    expect(t.sandbox.disposed).toBe(true);
    await expect(t.sandbox.idle()).resolves.toBeUndefined();
    const after = await t.run("kept");
    expect(after.sandboxLost).toBe(true);
    expect(after.error).toMatch(/^SandboxLost: /);
    await expect(t.sandbox.readVariable("kept")).rejects.toMatchObject({
      code: "sandbox_disposed",
    });
  });

  it("refuses invalid documents and documents from elsewhere", async () => {
    const factory = createIsolatedVmSandboxFactory();
    await expect(factory.loadDocument(42 as unknown as string)).rejects.toMatchObject({
      code: "invalid_document",
    });
    await expect(
      factory.create({
        document: { release() {} },
        seed: "s",
        limits: TEST_LIMITS,
        onSubCall: async () => "",
      }),
    ).rejects.toMatchObject({ code: "invalid_document" });
  });

  it("serialises concurrent executes", async () => {
    const t = await openSandbox();
    await t.run("let counter = 0");
    const results = await Promise.all([
      t.run("const mine = counter; await recursiveLm('x'); counter = mine + 1; counter"),
      t.run("const mine2 = counter; await recursiveLm('y'); counter = mine2 + 1; counter"),
    ]);
    expect(results.map((r) => r.output)).toEqual(["1", "2"]);
  });
});
