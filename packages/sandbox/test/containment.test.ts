import type { CellResult, SandboxLimits, SubCallHandler } from "@rlm/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createIsolatedVmSandboxFactory } from "../src/index.js";
import { closeAll, echoHandler, openSandbox, TEST_LIMITS } from "./helpers.js";

/**
 * Hostile cells. Each runs in a fresh sandbox after `const keep = 42`, and the test checks
 * (a) the cell's result, (b) that the host process is fine (no unhandled rejection or
 * uncaught exception, memory usage still readable), and (c) that a later cell still works:
 * with `keep` intact when the sandbox survived, or with a prompt lost-sandbox error (and a
 * fresh sandbox from the same document working) when it did not.
 */
interface HostileCell {
  name: string;
  code: string;
  /** Whether the sandbox must be lost (true), must survive (false), or either. */
  lost: boolean | "either";
  check: (result: CellResult) => void;
  limits?: Partial<SandboxLimits>;
  context?: string | string[] | { [key: string]: string };
  onSubCall?: SubCallHandler;
  /**
   * The sandbox may survive the cell and yet be lost at the next one: a cell stopped by
   * its CPU limit keeps what its top-level declarations hold (REPL globals), and close to
   * the memory limit the next cell's first allocation is the one that crosses it.
   */
  laterMayBeLost?: boolean;
}

const hostileCells: HostileCell[] = [
  {
    name: "this.constructor.constructor('return process')()",
    code: "this.constructor.constructor('return process')()",
    lost: false,
    check: (r) => expect(r.error).toBe("ReferenceError: process is not defined (line 1)"),
  },
  {
    name: "print.constructor builds only isolate functions",
    code: "print(print.constructor === Function, print.constructor('return typeof process + typeof require')())",
    lost: false,
    check: (r) => expect(r.output).toBe("true undefinedundefined"),
  },
  {
    name: "recursiveLm.constructor is the isolate's Function",
    code: [
      "const FunctionOf = recursiveLm.constructor;",
      "print(FunctionOf === Function, FunctionOf('return typeof process')())",
    ].join("\n"),
    lost: false,
    check: (r) => expect(r.output).toBe("true undefined"),
  },
  {
    name: "console.log.constructor",
    code: "print(console.log.constructor === Function, console.log.constructor('return typeof globalThis.process')())",
    lost: false,
    check: (r) => expect(r.output).toBe("true undefined"),
  },
  {
    name: "FINAL.constructor and FINAL_VAR.constructor",
    code: "print(FINAL.constructor('return typeof process')(), FINAL_VAR.constructor.constructor('return typeof require')())",
    lost: false,
    check: (r) => {
      expect(r.output).toBe("undefined undefined");
      expect(r.final).toBeUndefined();
    },
  },
  {
    name: "Object.getPrototypeOf(context) of a string document",
    code: "const proto = Object.getPrototypeOf(context); print(proto === String.prototype, proto.constructor.constructor('return typeof process')())",
    lost: false,
    check: (r) => expect(r.output).toBe("true undefined"),
  },
  {
    name: "Object.getPrototypeOf(context) of an object document",
    context: { a: "b" },
    code: "const proto = Object.getPrototypeOf(context); print(proto === Object.prototype, proto.constructor.constructor('return typeof process')())",
    lost: false,
    check: (r) => expect(r.output).toBe("true undefined"),
  },
  {
    name: "the constructors of errors raised by the runtime and by sub-calls",
    onSubCall: async () => {
      throw new Error("host failure");
    },
    code: [
      "const seen = [];",
      "try { null.x } catch (e) { seen.push(e.constructor === TypeError, e.constructor.constructor('return typeof process')()) }",
      "try { await recursiveLm('') } catch (e) { seen.push(e.constructor === TypeError, e.constructor.constructor('return typeof process')()) }",
      "try { await recursiveLm('q') } catch (e) { seen.push(e.constructor === Error, e.constructor.constructor('return typeof process')(), Object.getPrototypeOf(e) === Error.prototype) }",
      "print(seen.join(' '))",
    ].join("\n"),
    lost: false,
    check: (r) => expect(r.output).toBe("true undefined true undefined true undefined true"),
  },
  {
    name: "Error.prepareStackTrace exposing call sites",
    code: [
      "Error.prepareStackTrace = (error, frames) => frames.map((frame) => {",
      "  const fn = frame.getFunction();",
      "  return (fn ? fn.constructor('return typeof process')() : 'hidden') + ':' + typeof frame.getThis() + ':' + frame.getFileName();",
      "}).join(' | ');",
      "try { await recursiveLm(42) } catch (e) { print(e.stack) }",
      "try { FINAL_VAR() } catch (e) { print(e.stack) }",
    ].join("\n"),
    lost: false,
    check: (r) => {
      expect(r.output).toContain("hidden");
      expect(r.output).not.toMatch(/object|function|node:|\/work\//);
    },
  },
  {
    name: "Error.prepareStackTrace that throws, then an uncaught error",
    code: "Error.prepareStackTrace = () => { throw new Error('trap') };\nundefinedFunction()",
    lost: false,
    check: (r) => expect(r.error).toBe("ReferenceError: undefinedFunction is not defined"),
  },
  {
    name: "process",
    code: "process.exit(1)",
    lost: false,
    check: (r) => expect(r.error).toBe("ReferenceError: process is not defined (line 1)"),
  },
  {
    name: "require",
    code: "require('child_process').execSync('id')",
    lost: false,
    check: (r) => expect(r.error).toBe("ReferenceError: require is not defined (line 1)"),
  },
  {
    name: "dynamic import('fs')",
    code: "const fs = await import('fs'); print(typeof fs)",
    lost: false,
    check: (r) => {
      expect(r.error).toBeDefined();
      expect(r.output).toBe("");
    },
  },
  {
    name: "static import is a syntax error",
    code: "import fs from 'fs'",
    lost: false,
    check: (r) => expect(r.error).toMatch(/^SyntaxError: .*\(line 1, column 1\)\n/),
  },
  {
    name: "globalThis holds only JavaScript builtins and the REPL globals",
    code: [
      "const names = Object.getOwnPropertyNames(globalThis);",
      "const hostish = names.filter((n) => { const v = globalThis[n]; return v !== null && (typeof v === 'object' || typeof v === 'function') && ('applySync' in v || 'copyInto' in v || 'derefInto' in v) });",
      "print(JSON.stringify(names.sort()), hostish.length, typeof $0, typeof $1, typeof ivm)",
    ].join("\n"),
    lost: false,
    check: (r) => {
      const [namesJson, ...rest] = r.output.split(" ");
      const names = JSON.parse(namesJson ?? "[]") as string[];
      const allowed = new Set([
        ...["Object", "Function", "Array", "Number", "parseFloat", "parseInt", "Infinity", "NaN"],
        ...["undefined", "Boolean", "String", "Symbol", "Date", "Promise", "RegExp", "Error"],
        ...["AggregateError", "EvalError", "RangeError", "ReferenceError", "SyntaxError"],
        ...["TypeError", "URIError", "globalThis", "JSON", "Math", "Intl", "ArrayBuffer"],
        ...["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array"],
        ...["Float32Array", "Float64Array", "Uint8ClampedArray", "BigUint64Array", "BigInt64Array"],
        ...["DataView", "Map", "BigInt", "Set", "WeakMap", "WeakSet", "Proxy", "Reflect"],
        ...["FinalizationRegistry", "WeakRef", "decodeURI", "decodeURIComponent", "encodeURI"],
        ...["encodeURIComponent", "escape", "unescape", "eval", "isFinite", "isNaN"],
        ...["SharedArrayBuffer", "Atomics"],
        ...["console", "context", "print", "recursiveLm", "FINAL", "FINAL_VAR"],
        ...["llm_query", "llm_query_batched", "rlm_query"],
        // declared by the test's own cells
        ...["keep", "names", "hostish"],
      ]);
      expect(names.filter((name) => !allowed.has(name))).toEqual([]);
      for (const hostName of ["process", "require", "setTimeout", "fetch", "Buffer", "module"]) {
        expect(names).not.toContain(hostName);
      }
      expect(rest).toEqual(["0", "undefined", "undefined", "undefined"]);
    },
  },
  {
    name: "prototype tampering of sub-call answer strings",
    code: [
      "String.prototype.toString = () => 'pwned'; String.prototype.slice = null; String.prototype.valueOf = null;",
      "const answer = await recursiveLm('still echoed');",
      "print(answer.length, answer === 'answer: still echoed')",
    ].join("\n"),
    lost: false,
    check: (r) => expect(r.output).toBe("20 true"),
  },
  {
    name: "prototype tampering of context",
    context: { title: "original" },
    code: [
      "Object.setPrototypeOf(context, { injected: true });",
      "context.title = 'changed'; context.__proto__.polluted = 1;",
      "print(context.injected, context.title)",
    ].join("\n"),
    lost: false,
    check: (r) => expect(r.output).toBe("true changed"),
  },
  {
    name: "Object.prototype pollution, then a sub-call still works",
    code: [
      "Object.prototype.ok = false; Object.prototype.error = 'pwned'; Object.prototype.value = 'pwned';",
      "Object.prototype.copy = false; Object.prototype.reference = true; Object.prototype.timeout = 1;",
      "Object.prototype.then = function (resolve) { resolve('hijacked') };",
      "Array.prototype.push = null; Array.prototype[Symbol.iterator] = null;",
      "print(await recursiveLm('works'))",
    ].join("\n"),
    lost: false,
    check: (r) => {
      expect(r.error).toBeUndefined();
      expect(r.output).toBe("answer: works");
    },
  },
  {
    name: "clobbering the builtins the runtime uses",
    code: [
      "JSON.stringify = () => { throw new Error('no') }; JSON.parse = null;",
      "Function.prototype.call = null; Function.prototype.apply = null; Function.prototype.bind = null;",
      "Reflect.apply = null; Promise.prototype.then = null; Set.prototype.add = null; Object.keys = null;",
      "String.prototype.slice = null; Date.prototype.toISOString = null; console = null;",
      "print({ still: ['formatted'] }); FINAL({ a: 1 });",
      "await recursiveLm('through')",
    ].join("\n"),
    lost: false,
    check: (r) => {
      expect(r.error).toBeUndefined();
      expect(r.output).toBe('{"still": ["formatted"]}\nanswer: through');
      expect(r.final?.answer).toBe(JSON.stringify({ a: 1 }, null, 2));
    },
  },
  {
    name: "overwriting print, FINAL and recursiveLm only affects the model's own code",
    code: "print = null; FINAL = null; recursiveLm = null; Math.random = null; Date = null; 'done'",
    lost: false,
    check: (r) => expect(r.output).toBe("done"),
  },
  {
    name: "a synchronous infinite loop",
    code: "print('before'); while (true) {}",
    lost: false,
    check: (r) => {
      expect(r.error).toBe("Timeout: cell exceeded 500 ms of CPU");
      expect(r.output).toBe("before");
    },
  },
  {
    name: "an infinite loop after an await",
    code: "await recursiveLm('first'); for (;;) {}",
    lost: true,
    check: (r) => expect(r.error).toMatch(/^Timeout: cell exceeded 500 ms of CPU/),
  },
  {
    name: "awaiting a promise that never settles",
    code: "print('waiting'); await new Promise(() => {})",
    lost: true,
    check: (r) => {
      expect(r.error).toMatch(/^Timeout: cell exceeded the wall-clock limit of 2000 ms/);
      expect(r.output).toBe("waiting");
    },
  },
  {
    name: "a memory bomb",
    // Room on the clock, so the heap limit (not the CPU limit) is what stops it.
    limits: { cellCpuMs: 10_000, cellTimeoutMs: 20_000 },
    code: "const hoard = []; while (true) hoard.push(new Array(1e6).fill(hoard.length))",
    lost: true,
    check: (r) => expect(r.error).toMatch(/^MemoryLimitError: .*memory limit of 64 MB/),
  },
  {
    name: "a memory bomb after an await",
    // Room on the clock, so the heap limit (not the CPU limit) is what stops it.
    limits: { cellCpuMs: 10_000, cellTimeoutMs: 20_000 },
    code: "await recursiveLm('q');\nconst hoard = []; while (true) hoard.push(new Array(1e6).fill(hoard.length))",
    lost: true,
    check: (r) => expect(r.error).toMatch(/^MemoryLimitError: .*memory limit of 64 MB/),
  },
  {
    name: "many small allocations in a synchronous loop",
    code: "const heap = []; for (let i = 0; ; i++) heap.push({ i, s: 'y' + i, a: [i, i] })",
    lost: "either",
    // Stopped at 500 ms of CPU with `heap` just under 64 MB (a busy machine allocates less
    // in that time, an idle one reaches the memory limit first).
    laterMayBeLost: true,
    check: (r) =>
      expect(r.error).toMatch(/^(Timeout: cell exceeded 500 ms of CPU|MemoryLimitError)/),
  },
  {
    name: "breaking Promise.prototype.then before a sub-call",
    code: "Promise.prototype.then = null; await recursiveLm('through')",
    lost: false,
    check: (r) => expect(r.output).toBe("answer: through"),
  },
  {
    name: "a 100 MB print",
    limits: { memoryMb: 512, cellCpuMs: 5000, cellTimeoutMs: 10_000 },
    code: "print('z'.repeat(100 * 1024 * 1024))",
    lost: false,
    check: (r) => {
      const notice = `\n... [output truncated: ${100 * 1024 * 1024 - 2000} more characters not shown]`;
      expect(r.output).toBe("z".repeat(2000) + notice);
    },
  },
  {
    name: "printing a huge array",
    code: "print(Array.from({ length: 200000 }, (_, i) => 'item ' + i))",
    lost: false,
    check: (r) => {
      expect(r.output.startsWith('["item 0", "item 1"')).toBe(true);
      expect(r.output).toMatch(/\n\.\.\. \[output truncated: \d+ more characters not shown\]$/);
    },
  },
  {
    name: "deep recursion",
    code: "function dive(n) { return dive(n + 1) + 1 }\ndive(0)",
    lost: false,
    check: (r) => expect(r.error).toBe("RangeError: Maximum call stack size exceeded (line 1)"),
  },
  {
    name: "an unhandled rejection (not awaited)",
    code: "Promise.reject(new Error('x')); print('after')",
    lost: false,
    check: (r) => {
      expect(r.error).toBeUndefined();
      expect(r.output).toBe("after\nUncaught (in promise) Error: x");
    },
  },
  {
    name: "an unhandled rejection after an await, and one left behind for the next cell",
    code: [
      "await recursiveLm('q'); Promise.reject(new RangeError('late'));",
      "(async () => { await recursiveLm('r'); throw new Error('dangling') })();",
      "'returned'",
    ].join("\n"),
    lost: false,
    check: (r) => expect(r.output).toMatch(/^returned/),
  },
  {
    name: "throwing non-Error values",
    code: "throw 42",
    lost: false,
    check: (r) => expect(r.error).toBe("Uncaught 42"),
  },
  {
    name: "throwing null",
    code: "throw null",
    lost: false,
    check: (r) => expect(r.error).toBe("Uncaught null"),
  },
  {
    name: "throwing an object and a hostile proxy",
    code: "try { throw { code: 7 } } catch (e) { print(e.code) }\nthrow new Proxy({}, { getPrototypeOf() { throw new Error('trap') } })",
    lost: false,
    check: (r) => {
      expect(r.output).toBe("7");
      expect(r.error).toBe("Uncaught exception (it could not be described)");
    },
  },
  {
    name: "Atomics.wait on a SharedArrayBuffer",
    code: "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)",
    lost: false,
    check: (r) => expect(r.error).toBe("Timeout: cell exceeded 500 ms of CPU"),
  },
  {
    name: "Atomics.wait after an await",
    code: "await null;\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)",
    lost: true,
    check: (r) => expect(r.error).toMatch(/^Timeout: /),
  },
  {
    name: "a huge sub-call argument",
    limits: { subCallChars: 20_000_000 },
    onSubCall: async ({ context }) => `${typeof context === "string" ? context.length : -1}`,
    code: "await recursiveLm('size', 'y'.repeat(8 * 1024 * 1024))",
    lost: "either",
    check: (r) => {
      if (!r.sandboxLost) expect(r.output).toBe(`${8 * 1024 * 1024}`);
      else expect(r.error).toMatch(/^MemoryLimitError/);
    },
  },
  {
    name: "recursiveLm with a non-string query, not awaited, throws where it was written",
    code: "print('starts')\nrecursiveLm(12345); recursiveLm(); print('continues')",
    lost: false,
    check: (r) => {
      expect(r.output).toBe("starts");
      expect(r.error).toBe(
        "TypeError: recursiveLm(query, subContext?): query must be a non-empty string (line 2)",
      );
      expect(r.subCalls).toBe(0);
    },
  },
  {
    name: "a sub-call argument over limits.subCallChars",
    onSubCall: async () => "never asked",
    code: "const big = 'z'.repeat(3_000_000)\nawait recursiveLm('size', big)",
    lost: false,
    check: (r) => {
      expect(r.error).toBe(
        "RangeError: recursiveLm: the query and sub-context are 3000004 characters, over the limit of 2000000 per sub-call; split the text into smaller chunks (line 2)",
      );
      expect(r.subCalls).toBe(0);
    },
  },
  {
    name: "Promise.all over 100,000 recursiveLm calls",
    onSubCall: () => new Promise<string>((resolve) => setTimeout(() => resolve("a"), 50)),
    code: "await Promise.all(Array.from({ length: 100_000 }, (_, i) => recursiveLm('q' + i)))",
    lost: false,
    check: (r) => {
      expect(r.error).toMatch(
        /^RangeError: recursiveLm: more than 200 sub-calls pending in one cell/,
      );
      expect(r.subCalls).toBe(200);
      // Refused within the cell's limits, not after minutes of building calls.
      expect(r.durationMs).toBeLessThan(TEST_LIMITS.cellTimeoutMs);
    },
  },
  {
    name: "an ArrayBuffer bomb (typed arrays count against the memory limit)",
    code: "{\n  const bufs = []\n  for (let i = 0; i < 40; i++) { const b = new Uint8Array(64 * 1024 * 1024); b.fill(1); bufs.push(b) }\n}",
    lost: "either",
    check: (r) =>
      expect(r.error).toMatch(/^(RangeError: Array buffer allocation failed|MemoryLimitError)/),
  },
  {
    name: "a SharedArrayBuffer bomb",
    code: "{\n  const shared = []\n  for (let i = 0; i < 40; i++) { const b = new Uint8Array(new SharedArrayBuffer(64 * 1024 * 1024)); b.fill(1); shared.push(b) }\n}",
    lost: "either",
    check: (r) =>
      expect(r.error).toMatch(/^(RangeError: Array buffer allocation failed|MemoryLimitError)/),
  },
  {
    name: "WebAssembly is not in the REPL (its memory escapes the isolate's limit)",
    code: "print(typeof WebAssembly, typeof globalThis.WebAssembly)",
    lost: false,
    check: (r) => expect(r.output).toBe("undefined undefined"),
  },
  {
    name: "timers and other host APIs are undefined",
    code: "print(typeof setTimeout, typeof setInterval, typeof setImmediate, typeof queueMicrotask, typeof fetch, typeof Buffer, typeof global)",
    lost: false,
    check: (r) => expect(r.output).toBe(Array(7).fill("undefined").join(" ")),
  },
  {
    name: "eval and new Function inside the isolate stay harmless",
    code: "print(eval('typeof process'), new Function('return typeof require')(), (0, eval)('this === globalThis'), eval('var evalDeclared = 1; evalDeclared'))",
    lost: false,
    check: (r) => expect(r.output).toBe("undefined undefined true 1"),
  },
  {
    name: "spoofing isolated-vm's timeout message with a rejection",
    code: "Promise.reject(new Error('Script execution timed out.')); print('spoof')",
    lost: "either",
    check: (r) => expect(r.error ?? r.output).toBeDefined(),
  },
  {
    name: "a getter on a global that loops, read through readVariable and display",
    code: "Object.defineProperty(globalThis, 'trap', { get() { while (true) {} } }); 'defined'",
    lost: false,
    check: (r) => expect(r.output).toBe("defined"),
  },
];

const unhandled = vi.fn();
const uncaught = vi.fn();
beforeAll(() => {
  process.on("unhandledRejection", unhandled);
  process.on("uncaughtException", uncaught);
});
afterAll(() => {
  process.off("unhandledRejection", unhandled);
  process.off("uncaughtException", uncaught);
});
beforeEach(() => {
  unhandled.mockClear();
  uncaught.mockClear();
});
afterEach(closeAll);

describe("containment", () => {
  it("has at least 25 hostile cells", () => {
    expect(hostileCells.length).toBeGreaterThanOrEqual(25);
  });

  for (const cell of hostileCells) {
    it(cell.name, async () => {
      const t = await openSandbox({
        context: cell.context ?? "the document",
        onSubCall: cell.onSubCall ?? echoHandler,
        limits: cell.limits ?? {},
      });
      const setup = await t.run("const keep = 42");
      expect(setup.error).toBeUndefined();

      const result = await t.run(cell.code);
      // (a) an error or harmless output
      cell.check(result);
      if (cell.lost !== "either") expect(result.sandboxLost).toBe(cell.lost);
      expect(t.sandbox.disposed).toBe(result.sandboxLost);

      // (b) the host is fine
      expect(process.memoryUsage().rss).toBeGreaterThan(0);
      await t.sandbox.idle();

      // (c) a later cell still works; the earlier global survives unless the sandbox was lost
      const later = await t.run("keep + 1");
      if (result.sandboxLost || (cell.laterMayBeLost && later.sandboxLost)) {
        expect(later.sandboxLost).toBe(true);
        expect(later.error).toMatch(/^SandboxLost: /);
        const fresh = await openSandbox({ context: cell.context ?? "the document" });
        expect((await fresh.run("typeof context")).output).toBe(
          typeof (cell.context ?? "the document"),
        );
      } else {
        expect(later.error).toBeUndefined();
        expect(later.output).toMatch(/^43/);
        expect(later.sandboxLost).toBe(false);
      }
      expect(unhandled).not.toHaveBeenCalled();
      expect(uncaught).not.toHaveBeenCalled();
    });
  }

  it("leaves the loaded document untouched by what a sandbox did to its copy", async () => {
    const factory = createIsolatedVmSandboxFactory();
    const document = await factory.loadDocument({ title: "original" });
    const options = { document, seed: "s", limits: TEST_LIMITS, onSubCall: echoHandler };
    const first = await factory.create(options);
    await first.execute({
      code: "context.title = 'changed'; Object.setPrototypeOf(context, null)",
      cellKey: "1",
    });
    const second = await factory.create(options);
    expect((await second.execute({ code: "context.title", cellKey: "1" })).output).toBe("original");
    first.dispose();
    second.dispose();
    document.release();
  });

  it("readVariable on a looping getter fails with an error and keeps the sandbox", async () => {
    const t = await openSandbox();
    await t.run(
      "const kept = 'yes'; Object.defineProperty(globalThis, 'trap', { get() { while (true) {} } })",
    );
    await expect(t.sandbox.readVariable("trap")).rejects.toMatchObject({
      code: "read_variable_failed",
    });
    expect(await t.sandbox.readVariable("kept")).toBe("yes");
  });
});
