import { afterAll, describe, expect, it } from "vitest";
import { ContextStore } from "../src/storage/context-store.js";
import { redisKeys } from "../src/storage/keys.js";
import { DocumentSlices } from "../src/documents/document-slices.js";
import { deleteKeysUnder, keysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

const redis = newRedis();
const prefix = uniquePrefix("slices");

afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

const line = (index: number) => `line ${index} of the ledger, shipment ${index * 7}\n`;
const documentText = Array.from({ length: 10_000 }, (_, index) => line(index)).join("");

describe("DocumentSlices", () => {
  it("locates in-order chunks of the document at the cursor", () => {
    const slices = new DocumentSlices(documentText, 100, 10_000);
    const chunks = [0, 1, 2, 3].map((index) =>
      documentText.slice(index * 50_000, (index + 1) * 50_000),
    );
    const ranges = chunks.map((chunk) => slices.locate(chunk));
    expect(ranges).toEqual(
      [0, 1, 2, 3].map((index) => ({
        start: index * 50_000,
        end: (index + 1) * 50_000,
        charStart: index * 50_000,
      })),
    );
  });

  it("finds an out-of-order large chunk by scanning, and rejects text that is not in the document", () => {
    const slices = new DocumentSlices(documentText, 100, 1_000);
    const late = documentText.slice(200_000, 210_000);
    expect(slices.locate(late)).toEqual({ start: 200_000, end: 210_000, charStart: 200_000 });
    expect(slices.locate(documentText.slice(5_000, 15_000))).toEqual({
      start: 5_000,
      end: 15_000,
      charStart: 5_000,
    });
    expect(slices.locate(`${"not in the document ".repeat(600)}`)).toBeUndefined();
  });

  it("leaves small chunks alone", () => {
    expect(new DocumentSlices(documentText).locate("line 1 of")).toBeUndefined();
  });

  it("gives UTF-8 byte ranges in non-ASCII documents, and refuses a chunk that cuts a surrogate pair", () => {
    const text = Array.from({ length: 3_000 }, (_, index) => `Zeile ${index} — Größe 😀 ok\n`).join(
      "",
    );
    const slices = new DocumentSlices(text, 100, 1_000_000);
    const bytes = Buffer.from(text, "utf8");
    let from = 0;
    for (const to of [10_000, 25_000, 40_000]) {
      const chunk = text.slice(from, to);
      const range = slices.locate(chunk);
      if (range === undefined) {
        // Only a chunk whose edge splits the emoji's surrogate pair may be refused.
        expect(/[\ud800-\udbff]$|^[\udc00-\udfff]/.test(chunk)).toBe(true);
      } else {
        expect(bytes.subarray(range.start, range.end).toString("utf8")).toBe(chunk);
        expect(range.charStart).toBe(from);
      }
      from = to;
    }
    // Out of order, behind the cursor: measured from the start.
    const early = text.slice(1_000, 3_000);
    const range = slices.locate(early);
    expect(range && bytes.subarray(range.start, range.end).toString("utf8")).toBe(early);
    const emoji = text.indexOf("😀");
    expect(slices.locate(text.slice(emoji + 1, emoji + 5_000))).toBeUndefined();
  });

  it("gives the byte range of a text range the sandbox found, in and out of order", () => {
    const text = Array.from({ length: 3_000 }, (_, index) => `Zeile ${index} — Größe ok\n`).join(
      "",
    );
    const bytes = Buffer.from(text, "utf8");
    const slices = new DocumentSlices(text);
    for (const [start, end] of [
      [0, 9_000],
      [9_000, 30_000],
      [2_000, 4_000],
      [30_000, text.length],
    ] as const) {
      const range = slices.rangeOf(start, end);
      expect(range?.charStart).toBe(start);
      expect(bytes.subarray(range!.start, range!.end).toString("utf8")).toBe(
        text.slice(start, end),
      );
    }
    expect(slices.rangeOf(10, text.length + 1)).toBeUndefined();
    const emojiText = `${"a".repeat(5_000)}😀${"b".repeat(5_000)}`;
    expect(new DocumentSlices(emojiText).rangeOf(0, 5_001)).toBeUndefined();
  });
});

describe("ContextStore slices", () => {
  it("reads a slice (and a slice of a slice) back as the same text, storing nothing new", async () => {
    const store = new ContextStore({ redis, prefix });
    const ref = await store.put(documentText);
    // This file's keys only: the other test files write to the same Redis meanwhile.
    const keysBefore = (await keysUnder(redis, prefix)).sort();
    expect(keysBefore).toContain(redisKeys(prefix).context(ref.sha256));
    const outer = store.slice(ref, 100_000, 150_000, 50_000);
    const inner = store.slice(outer, 10_000, 20_000, 10_000);
    expect(await store.get(outer)).toBe(documentText.slice(100_000, 150_000));
    expect(await store.get(inner)).toBe(documentText.slice(110_000, 120_000));
    expect((await keysUnder(redis, prefix)).sort()).toEqual(keysBefore);
  });

  it("reads back a non-ASCII chunk located by DocumentSlices", async () => {
    const store = new ContextStore({ redis, prefix });
    const text = Array.from({ length: 2_000 }, (_, index) => `Größe ${index} — «ok»\n`).join("");
    const ref = await store.put(text);
    const slices = new DocumentSlices(text, 100, 1_000_000);
    slices.locate(text.slice(0, 5_000));
    const chunk = text.slice(5_000, 12_000);
    const range = slices.locate(chunk);
    expect(range).toBeDefined();
    expect(await store.get(store.slice(ref, range!.start, range!.end, chunk.length))).toBe(chunk);
  });

  it("reports a missing document for a slice of an expired context", async () => {
    const store = new ContextStore({ redis, prefix });
    const ref = await store.put(`${documentText}gone`);
    await redis.del(redisKeys(prefix).context(ref.sha256));
    await expect(store.get(store.slice(ref, 0, 10, 10))).rejects.toMatchObject({
      code: "context_missing",
    });
  });

  it("serves the slices of a held document from memory, and Redis once it is let go", async () => {
    const store = new ContextStore({ redis, prefix });
    const text = Array.from({ length: 2_000 }, (_, index) => `Größe ${index} — «ok»\n`).join("");
    const ref = await store.put(`${text}held`);
    const held = `${text}held`;
    const slices = new DocumentSlices(held, 100, 1_000_000);
    const chunk = held.slice(7_000, 15_000);
    const range = slices.locate(chunk)!;
    const outer = store.slice(ref, range.start, range.end, chunk.length, range.charStart);
    expect(outer.slice?.charStart).toBe(7_000);
    // A slice of that slice (a nested run's chunk) knows its place in the document too.
    const inner = store.slice(
      outer,
      Buffer.byteLength(chunk.slice(0, 1_000)),
      Buffer.byteLength(chunk.slice(0, 3_000)),
      2_000,
      1_000,
    );
    expect(inner.slice?.charStart).toBe(8_000);
    const release = store.hold(ref, held);
    await redis.del(redisKeys(prefix).context(ref.sha256)); // proves that no read goes to Redis
    expect(await store.get(ref)).toBe(held);
    expect(await store.get(outer)).toBe(chunk);
    expect(await store.get(inner)).toBe(held.slice(8_000, 10_000));
    release();
    await expect(store.get(outer)).rejects.toMatchObject({ code: "context_missing" });
  });

  it("never serves a slice without a text offset, or a JSON context, from memory", async () => {
    const store = new ContextStore({ redis, prefix });
    const ref = await store.put(`${documentText}offsets`);
    const release = store.hold(ref, `${documentText}offsets`);
    expect(store.hold(await store.put(["a"]), '["a"]')).toBeTypeOf("function");
    const noOffset = store.slice(ref, 0, 20_000, 20_000);
    expect(noOffset.slice?.charStart).toBeUndefined();
    expect(store.slice(noOffset, 0, 100, 100, 0).slice?.charStart).toBeUndefined();
    await redis.del(redisKeys(prefix).context(ref.sha256));
    await expect(store.get(noOffset)).rejects.toMatchObject({ code: "context_missing" });
    release();
  });
});
