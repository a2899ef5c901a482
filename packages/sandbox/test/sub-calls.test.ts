import type { SubCallRequest } from "@rlm/core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { closeAll, openSandbox } from "./helpers.js";

const unhandled = vi.fn();
beforeAll(() => {
  process.on("unhandledRejection", unhandled);
});
afterAll(() => {
  process.off("unhandledRejection", unhandled);
});
afterEach(closeAll);

describe("recursiveLm", () => {
  it("runs 20 calls from Promise.all in parallel", async () => {
    const spans: { start: number; end: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const t = await openSandbox({
      limits: { cellTimeoutMs: 10_000 },
      onSubCall: async ({ query }) => {
        const start = performance.now();
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight -= 1;
        spans.push({ start, end: performance.now() });
        return query.toUpperCase();
      },
    });
    const result = await t.run(
      "const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => recursiveLm('q' + i)));\nanswers.length + ' ' + answers[19]",
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe("20 Q19");
    expect(result.subCalls).toBe(20);
    expect(spans).toHaveLength(20);
    // Every call started before any call ended: all 20 were in flight together.
    const lastStart = Math.max(...spans.map((span) => span.start));
    const firstEnd = Math.min(...spans.map((span) => span.end));
    expect(lastStart).toBeLessThan(firstEnd);
    expect(maxInFlight).toBe(20);
  });

  it("passes query, copied sub-context and the call index to the handler", async () => {
    const requests: SubCallRequest[] = [];
    const t = await openSandbox({
      onSubCall: async (request) => {
        requests.push(request);
        return "ok";
      },
    });
    await t.run("await recursiveLm('warm-up')");
    const result = await t.run(
      [
        "await recursiveLm('none');",
        "await recursiveLm('text', 'some text');",
        "await recursiveLm('list', ['a', 'b']);",
        "const data = { n: 1, nested: { list: [true, null] } };",
        "await recursiveLm('object', data);",
        "data.n = 2;",
      ].join("\n"),
    );
    expect(result.error).toBeUndefined();
    expect(requests.slice(1)).toEqual([
      { query: "none", context: undefined, index: 0 },
      { query: "text", context: "some text", index: 1 },
      { query: "list", context: ["a", "b"], index: 2 },
      { query: "object", context: { n: 1, nested: { list: [true, null] } }, index: 3 },
    ]);
  });

  it("sends chunks cut from the document as ranges of it, with the same text", async () => {
    const requests: SubCallRequest[] = [];
    const line = (i: number) => `line ${i} ${"é".repeat(i % 7)} 😀 ${"x".repeat(40)}\n`;
    const document = Array.from({ length: 2_000 }, (_, i) => line(i)).join("");
    const t = await openSandbox({
      context: document,
      onSubCall: async (request) => {
        requests.push(request);
        return "ok";
      },
    });
    const result = await t.run(
      [
        "const size = 20000;",
        "const chunks = [];",
        "for (let at = 0; at < context.length; at += size) chunks.push(context.slice(at, at + size));",
        // In order (found at the cursor), then one again (found by a scan), then text
        // that is not in the document, and a short slice (not worth a range).
        "await Promise.all(chunks.map((chunk) => recursiveLm('q', chunk)));",
        "await recursiveLm('again', chunks[1]);",
        "await recursiveLm('computed', chunks[2].toUpperCase());",
        "await recursiveLm('short', context.slice(5, 50));",
        "chunks.length",
      ].join("\n"),
    );
    expect(result.error).toBeUndefined();
    const chunkCount = Number(result.output);
    const mapped = requests.filter((request) => request.query === "q");
    expect(mapped).toHaveLength(chunkCount);
    for (const request of mapped) {
      expect(request.documentRange).toBeDefined();
      const { start, end } = request.documentRange!;
      expect(request.context).toBe(document.slice(start, end));
    }
    expect(mapped.map((request) => request.documentRange!.start)).toEqual(
      Array.from({ length: chunkCount }, (_, i) => i * 20_000),
    );
    const again = requests.find((request) => request.query === "again")!;
    expect(again.documentRange).toEqual({ start: 20_000, end: 40_000 });
    expect(again.context).toBe(document.slice(20_000, 40_000));
    const computed = requests.find((request) => request.query === "computed")!;
    expect(computed.documentRange).toBeUndefined();
    expect(computed.context).toBe(document.slice(40_000, 60_000).toUpperCase());
    const short = requests.find((request) => request.query === "short")!;
    expect(short.documentRange).toBeUndefined();
    expect(short.context).toBe(document.slice(5, 50));
  });

  it("sends chunks joined from lines as ranges of the document, more of them than it may scan for", async () => {
    // 40 chunks of lines joined with "\n": each leaves out the newline before the next, so
    // none starts where the last ended; the per-cell budget of scans is 8.
    const line = (i: number) => `line ${i} ` + "x".repeat(60 + (i % 7));
    const document = Array.from({ length: 40 * 200 }, (_, i) => line(i)).join("\r\n");
    const requests: SubCallRequest[] = [];
    const t = await openSandbox({
      context: document,
      limits: { memoryMb: 128 },
      onSubCall: async (request) => {
        requests.push(request);
        return "ok";
      },
    });
    const result = await t.run(
      [
        'const lines = context.split("\\r\\n");',
        "const chunks = [];",
        'for (let i = 0; i < lines.length; i += 200) chunks.push(lines.slice(i, i + 200).join("\\r\\n"));',
        "await Promise.all(chunks.map((chunk) => recursiveLm('q', chunk)));",
        "chunks.length",
      ].join("\n"),
    );
    expect(result.error).toBeUndefined();
    expect(result.output).toBe("40");
    expect(requests.every((request) => request.documentRange !== undefined)).toBe(true);
    for (const request of requests) {
      expect(request.context).toBe(
        document.slice(request.documentRange!.start, request.documentRange!.end),
      );
    }
  });

  it("turns a rejecting handler into an Error the cell can catch", async () => {
    const t = await openSandbox({
      onSubCall: async () => {
        throw new Error("model unavailable");
      },
    });
    const caught = await t.run(
      "try { await recursiveLm('q') } catch (error) { print(error instanceof Error, error.message) }",
    );
    expect(caught.error).toBeUndefined();
    expect(caught.output).toBe("true sub-call failed: model unavailable");
    const uncaught = await t.run("\nawait recursiveLm('q')");
    expect(uncaught.error).toBe("Error: sub-call failed: model unavailable (line 2)");
    expect(unhandled).not.toHaveBeenCalled();
  });

  it("rejects calls with a bad query inside the isolate, without calling the host", async () => {
    const handler = vi.fn(async () => "never");
    const t = await openSandbox({ onSubCall: handler });
    const result = await t.run(
      [
        "for (const bad of [42, '', undefined, { toString() { return 'q' } }]) {",
        "  try { await recursiveLm(bad) } catch (error) { print(error.name) }",
        "}",
        "const cyclic = {}; cyclic.self = cyclic;",
        "try { await recursiveLm('q', cyclic) } catch (error) { print(error.name) }",
        "try { await recursiveLm('q', () => 1) } catch (error) { print(error.name) }",
      ].join("\n"),
    );
    expect(result.output).toBe("TypeError\nTypeError\nTypeError\nTypeError\nTypeError\nTypeError");
    expect(handler).not.toHaveBeenCalled();
  });

  it("does not count time awaiting sub-calls against the wall-clock limit", async () => {
    // A sequential loop of slow sub-calls: 5 × 150 ms = 750 ms of waiting under a 300 ms
    // wall-clock limit, which exists to stop runaway code, not waiting.
    const t = await openSandbox({
      limits: { cellTimeoutMs: 300 },
      onSubCall: ({ query }) =>
        new Promise<string>((resolve) => setTimeout(() => resolve(`answer ${query}`), 150)),
    });
    const result = await t.run(
      "const got = []\nfor (let i = 0; i < 5; i++) got.push(await recursiveLm('q' + i))\nprint(got.length, got[4])",
    );
    expect(result.error).toBeUndefined();
    expect(result.sandboxLost).toBe(false);
    expect(result.output).toBe("5 answer q4");
  });

  it("still loses the sandbox at the wall-clock limit when the cell waits on nothing", async () => {
    const t = await openSandbox({ limits: { cellTimeoutMs: 300 } });
    const result = await t.run("print(await recursiveLm('fast'))\nawait new Promise(() => {})");
    expect(result.sandboxLost).toBe(true);
    expect(result.error).toMatch(/^Timeout: cell exceeded the wall-clock limit of 300 ms/);
    expect(result.output).toBe("answer: fast");
  });

  it("stops a cell awaiting a sub-call that never answers when the analysis stops, without leaking a rejection", async () => {
    let release: (answer: string) => void = () => undefined;
    const t = await openSandbox({
      limits: { cellTimeoutMs: 300 },
      onSubCall: () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    });
    const stop = new AbortController();
    const running = t.sandbox.execute({
      code: "print('asked'); await recursiveLm('slow')",
      cellKey: "c1",
      signal: stop.signal,
    });
    // Well past the wall-clock limit: the pending sub-call keeps the cell waiting.
    await new Promise((resolve) => setTimeout(resolve, 600));
    stop.abort();
    const result = await running;
    expect(result.sandboxLost).toBe(true);
    expect(result.error).toMatch(/^Cancelled: the analysis was stopped/);
    expect(result.output).toBe("asked");
    release("too late");
    // The late answer goes to a disposed isolate; give it a macrotask to surface if it would.
    await new Promise((resolve) => setImmediate(resolve));
    await t.sandbox.idle();
    expect(unhandled).not.toHaveBeenCalled();
  });
});
