import type { RlmContext, SandboxDocument, SandboxFactory } from "@rlm/core";
import { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
import { describe, expect, it } from "vitest";
import { DocumentCache } from "../src/documents/document-cache.js";
import { LARGE_DOCUMENT_BYTES } from "../src/documents/large-document.js";

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
  it("parses a stored JSON document, and extends the locks before loading a large one", async () => {
    const { factory } = countingFactory();
    const blocking: number[] = [];
    const order: string[] = [];
    const cache = new DocumentCache(factory, undefined, undefined, async (bytes) => {
      blocking.push(bytes);
      order.push("extend");
    });
    const small = await cache.acquire("small", async () => ({ json: Buffer.from('["a","b"]') }));
    expect(small.context).toEqual(["a", "b"]);
    expect(blocking).toEqual([]);
    const items = JSON.stringify(Array.from({ length: LARGE_DOCUMENT_BYTES / 8 }, () => "abcdef"));
    const large = await cache.acquire("large", async () => {
      order.push("read");
      return { json: Buffer.from(items) };
    });
    expect(Array.isArray(large.context)).toBe(true);
    expect(blocking).toEqual([Buffer.byteLength(items)]);
    expect(order).toEqual(["read", "extend"]);
    cache.clear();
  });

  it("loads a document once for every run that shares it", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory);
    const [first, second] = await Promise.all([
      cache.acquire("a", async () => ({ context: "x" })),
      cache.acquire("a", async () => ({ context: "x" })),
    ]);
    expect(first.document).toBe(second.document);
    expect(first.context).toBe("x");
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
    await cache.acquire("in-use", async () => ({ context: "x" }));
    for (const key of ["a", "b", "c"]) {
      await cache.acquire(key, async () => ({ context: key }));
      cache.release(key);
    }
    expect(cache.size).toBe(2); // "in-use" and the newest idle one
    expect(counts.released).toBe(2);
    cache.clear();
  });

  it("releases a document idle for longer than idleMs", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory, { maxIdle: 10, idleMs: 0 });
    await cache.acquire("a", async () => ({ context: "x" }));
    cache.release("a");
    // idleMs 0: the next eviction pass (on the next release) drops it.
    await cache.acquire("b", async () => ({ context: "y" }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    cache.release("b");
    // "a" had been idle for 5 ms > 0 and is gone; "b" was idle for 0 ms and stays.
    expect(counts.released).toBe(1);
    expect(cache.size).toBe(1);
    cache.clear();
  });

  it("reads a document once, and gives the host the sandbox copy's text", async () => {
    const cache = new DocumentCache(createIsolatedVmSandboxFactory());
    const text = "a large document line\n".repeat(100_000);
    let loads = 0;
    const load = async () => {
      loads += 1;
      // Fresh bytes, as a Redis read gives: the factory takes them over.
      return { utf8: Buffer.from(text, "utf8") };
    };
    const first = await cache.acquire("doc", load);
    const second = await cache.acquire("doc", load);
    expect(loads).toBe(1);
    expect(second.document).toBe(first.document);
    expect(first.context).toBe(text);
    cache.release("doc");
    cache.release("doc");
    cache.clear();
    // Still readable: the shared text keeps its memory alive past the release.
    expect((first.context as string).length).toBe(text.length);
  });

  it("decodes bytes itself for a factory that cannot load them", async () => {
    const { factory, counts } = countingFactory();
    const cache = new DocumentCache(factory);
    const loaded = await cache.acquire("u", async () => ({ utf8: Buffer.from("naïve café ✓") }));
    expect(loaded.context).toBe("naïve café ✓");
    expect(counts.loaded).toBe(1);
    cache.clear();
  });

  it("collects garbage while loading a large document, and not for a small one", async () => {
    const collections: string[] = [];
    const cache = new DocumentCache(createIsolatedVmSandboxFactory(), undefined, (kind) => {
      collections.push(kind);
    });
    await cache.acquire("small", async () => ({ utf8: Buffer.from("a small document") }));
    expect(collections).toEqual([]);
    const large = Buffer.alloc(LARGE_DOCUMENT_BYTES, "x");
    const loaded = await cache.acquire("large", async () => ({ utf8: large }));
    // After the read, and after the decoding (the bytes themselves were freed at once).
    expect(collections).toEqual(["major", "major"]);
    expect((loaded.context as string).length).toBe(LARGE_DOCUMENT_BYTES);
    expect(large.length).toBe(0);
    cache.clear();
  });
});
