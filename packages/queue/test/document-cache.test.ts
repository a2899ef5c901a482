import type { RlmContext, SandboxDocument, SandboxFactory } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { DocumentCache } from "../src/document-cache.js";

/** A factory that only counts loads and releases (the cache never creates sandboxes). */
function countingFactory() {
  const counts = { loaded: 0, released: 0 };
  const factory: SandboxFactory = {
    loadDocument: async (_context: RlmContext): Promise<SandboxDocument> => {
      counts.loaded += 1;
      return { release: () => void (counts.released += 1) };
    },
    create: async () => {
      throw new Error("not used");
    },
  };
  return { factory, counts };
}

describe("DocumentCache", () => {
  it("loads a document once for every run that shares it", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory);
    const [first, second] = await Promise.all([cache.acquire("a", "x"), cache.acquire("a", "x")]);
    expect(first).toBe(second);
    expect(counts.loaded).toBe(2); // both raced past the empty cache…
    expect(counts.released).toBe(1); // …and the loser released its copy at once
    cache.release("a");
    cache.release("a");
    expect(cache.size).toBe(1); // kept idle for a resume
    cache.clear();
  });

  it("releases idle documents beyond maxIdle, oldest first, and never one in use", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory, { maxIdle: 1, idleMs: 60_000 });
    await cache.acquire("in-use", "x");
    for (const key of ["a", "b", "c"]) {
      await cache.acquire(key, key);
      cache.release(key);
    }
    expect(cache.size).toBe(2); // "in-use" and the newest idle one
    expect(counts.released).toBe(2);
    cache.clear();
  });

  it("releases a document idle for longer than idleMs", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory, { maxIdle: 10, idleMs: 0 });
    await cache.acquire("a", "x");
    cache.release("a");
    // idleMs 0: the next eviction pass (on the next release) drops it.
    await cache.acquire("b", "y");
    await new Promise((resolve) => setTimeout(resolve, 5));
    cache.release("b");
    // "a" had been idle for 5 ms > 0 and is gone; "b" was idle for 0 ms and stays.
    expect(counts.released).toBe(1);
    expect(cache.size).toBe(1);
    cache.clear();
  });
});
