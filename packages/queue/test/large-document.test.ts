import { afterEach, describe, expect, it } from "vitest";
import { exposedGarbageCollector } from "../src/documents/large-document.js";

describe("exposedGarbageCollector", () => {
  const original = globalThis.gc;
  afterEach(() => {
    globalThis.gc = original;
  });

  it("is undefined without --expose-gc", () => {
    globalThis.gc = undefined;
    expect(exposedGarbageCollector()).toBeUndefined();
  });

  it("asks node for a scavenge on minor, and for gc() itself on major", () => {
    const calls: unknown[][] = [];
    globalThis.gc = ((...args: unknown[]) => {
      calls.push(args);
    }) as NodeJS.GCFunction;
    const collect = exposedGarbageCollector()!;
    collect("minor");
    collect("major");
    expect(calls).toEqual([[{ type: "minor" }], []]);
  });
});
