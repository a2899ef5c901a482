import { createHash } from "node:crypto";
import { describeContext, RlmError } from "@rlm/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContextStore } from "../src/storage/context-store.js";
import { READ_PIECE_BYTES } from "../src/storage/read-in-pieces.js";
import { DEFAULT_TTL_SECONDS, redisKeys } from "../src/storage/keys.js";
import {
  LARGE_DOCUMENT_BYTES,
  READ_COLLECTION_SPACING_BYTES,
} from "../src/documents/large-document.js";
import { deleteKeysUnder, keysUnder, newRedis, uniquePrefix } from "./redis-helpers.js";

const prefix = uniquePrefix("ctx");
let redis: Redis;
let store: ContextStore;

beforeAll(() => {
  redis = newRedis();
  store = new ContextStore({ redis, prefix });
});

afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

describe("ContextStore", () => {
  it("stores the same content once and sets a TTL", async () => {
    const first = await store.put("the same document");
    const second = await store.put("the same document");
    expect(second).toEqual(first);
    expect(first).toMatchObject({ kind: "string", chars: 17, bytes: 17 });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    const keys = await keysUnder(redis, `${prefix}:ctx`);
    expect(keys).toEqual([redisKeys(prefix).context(first.sha256)]);
    const ttl = await redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(DEFAULT_TTL_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(DEFAULT_TTL_SECONDS);
  });

  it("refreshes the TTL when existing content is put again", async () => {
    const ref = await store.put("refresh me");
    const key = redisKeys(prefix).context(ref.sha256);
    await redis.expire(key, 10);
    await store.put("refresh me");
    expect(await redis.ttl(key)).toBeGreaterThan(DEFAULT_TTL_SECONDS - 60);
  });

  it("never shortens a longer TTL another writer set", async () => {
    const short = new ContextStore({ redis, prefix, ttlSeconds: 60 });
    const ref = await store.put("long-lived");
    await short.put("long-lived");
    expect(await redis.ttl(redisKeys(prefix).context(ref.sha256))).toBeGreaterThan(60);
  });

  it("stores a 5 MB string as raw UTF-8, about the size of the document", async () => {
    // Quotes, backslashes, newlines and non-ASCII: JSON encoding would inflate these.
    const line = 'He said "stop" \\ then left.\tÉté 😀\n';
    const document = line.repeat(Math.ceil((5 * 1024 * 1024) / line.length));
    const ref = await store.put(document);
    const byteLength = Buffer.byteLength(document);
    expect(ref.bytes).toBe(byteLength);
    expect(ref.chars).toBe(document.length);
    const stored = await redis.strlen(redisKeys(prefix).context(ref.sha256));
    expect(stored).toBe(byteLength);
    expect(stored).toBeLessThanOrEqual(byteLength * 1.1);
    expect(stored).toBeLessThan(JSON.stringify(document).length);
    expect(await store.get(ref)).toBe(document);
  });

  it("names a string by the SHA-256 of the UTF-8 it stores, a lone surrogate as U+FFFD", async () => {
    const text = "caf\u00e9 \ud83d\ude00 half \ud800 of a pair";
    const ref = await store.put(text);
    const stored = (await redis.getBuffer(redisKeys(prefix).context(ref.sha256)))!;
    expect(stored).toEqual(Buffer.from(text, "utf8"));
    expect(stored.includes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(true);
    expect(ref.bytes).toBe(stored.length);
    const expected = createHash("sha256").update("string\n").update(stored).digest("hex");
    expect(ref.sha256).toBe(expected);
    // Put again, it is found by that name and not sent twice.
    expect(await store.put(text)).toEqual(ref);
  });

  it("round-trips JSON contexts: string arrays, objects, mixed arrays", async () => {
    const contexts = [
      ["chapter one", "chapter two", 'with "quotes"'],
      { title: "Report", sections: [{ name: "a", n: 1 }], meta: null, ok: true },
      [1, "two", { three: [3] }, null],
    ];
    for (const context of contexts) {
      const ref = await store.put(context);
      expect(ref.kind).toBe("json");
      expect(ref.chars).toBe(JSON.stringify(context).length);
      expect(await store.get(ref)).toEqual(context);
    }
  });

  it("returns a bare JSON primitive (a possible sub-context) as its JSON text", async () => {
    expect(await store.get(await store.put(42))).toBe("42");
    expect(await store.get(await store.put(null))).toBe("null");
  });

  it("keeps a string and a JSON value with the same bytes apart", async () => {
    const text = await store.put("[1,2]");
    const array = await store.put([1, 2]);
    expect(text.sha256).not.toBe(array.sha256);
    expect(await store.get(text)).toBe("[1,2]");
    expect(await store.get(array)).toEqual([1, 2]);
  });

  it("throws context_missing (not retryable) for an expired context", async () => {
    const ref = await store.put("short-lived");
    await redis.del(redisKeys(prefix).context(ref.sha256));
    expect(await store.has(ref)).toBe(false);
    const error = await store.get(ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RlmError);
    expect(error).toMatchObject({ code: "context_missing", retryable: false });
  });

  it("reads a large document in pieces into one buffer, whole and as a slice", async () => {
    const line = (i: number) => `entry ${i}: naïve café 中文 ${"z".repeat(i % 50)}\n`;
    const text = Array.from({ length: 300_000 }, (_, i) => line(i)).join("");
    const bytes = Buffer.from(text, "utf8");
    expect(bytes.length).toBeGreaterThan(2 * READ_PIECE_BYTES);
    const released: number[] = [];
    const reader = new ContextStore({
      redis,
      prefix,
      releaseBuffer: (piece) => released.push(piece.length),
    });
    const ref = await reader.put(text);
    const whole = await reader.readDocument(ref);
    expect("utf8" in whole && whole.utf8.equals(bytes)).toBe(true);
    expect(released.length).toBe(Math.ceil(bytes.length / READ_PIECE_BYTES));

    const start = 1_000_003;
    const end = start + READ_PIECE_BYTES + 12_345;
    const slice = reader.slice(ref, start, end, 0);
    const part = await reader.readDocument(slice);
    expect("utf8" in part && part.utf8.equals(bytes.subarray(start, end))).toBe(true);
  });

  it("reads a held document from memory, and a JSON document as its stored bytes", async () => {
    const text = "held text ".repeat(1_000);
    const ref = await store.put(text);
    const unhold = store.hold(ref, text);
    expect(await store.readDocument(ref)).toEqual({ context: text });
    unhold();
    expect(await store.readDocument(ref)).toEqual({ utf8: Buffer.from(text) });
    const json = await store.put({ rows: [1, 2] });
    // Parsed by the document cache, after the job locks are extended for a large one.
    expect(await store.readDocument(json)).toEqual({ json: Buffer.from('{"rows":[1,2]}') });
  });

  it("collects the young generation every 2 MB of a large read, not during a smaller one", async () => {
    // The pieces read when each collection ran, and its kind.
    const collections: string[] = [];
    let piecesRead = 0;
    const reader = new ContextStore({
      redis,
      prefix,
      releaseBuffer: () => (piecesRead += 1),
      collectGarbage: (kind) => collections.push(`${kind} after ${piecesRead}`),
    });
    const small = await reader.put("s".repeat(LARGE_DOCUMENT_BYTES - 1));
    await reader.readDocument(small);
    expect(collections).toEqual([]);

    // 10 pieces: every 2 MB, but not after the last piece (the document cache collects
    // the whole heap then).
    expect(READ_COLLECTION_SPACING_BYTES / READ_PIECE_BYTES).toBe(2);
    const bytes = LARGE_DOCUMENT_BYTES + READ_COLLECTION_SPACING_BYTES;
    const large = await reader.put("l".repeat(bytes));
    piecesRead = 0;
    const read = await reader.readDocument(large);
    expect("utf8" in read && read.utf8.length).toBe(bytes);
    expect(collections).toEqual([2, 4, 6, 8].map((pieces) => `minor after ${pieces}`));
  });

  it("throws context_missing when a large document disappears", async () => {
    const text = "y".repeat(READ_PIECE_BYTES + 10);
    const ref = await store.put(text);
    await redis.del(redisKeys(prefix).context(ref.sha256));
    const error = await store.readDocument(ref).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "context_missing", retryable: false });
  });

  it("fails a large read cleanly when the connection drops, leaving no rejection unheard", async () => {
    const text = "z".repeat(6 * READ_PIECE_BYTES);
    const ref = await store.put(text);
    const unheard: unknown[] = [];
    const onUnhandled = (reason: unknown) => unheard.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const dropping = newRedis();
    try {
      const reading = new ContextStore({ redis: dropping, prefix }).readDocument(ref);
      // Every piece in flight fails at once.
      dropping.disconnect();
      await expect(reading).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unheard).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("describes a stored string from its two ends exactly as describeContext does", async () => {
    // ASCII, two- and three-byte characters, and surrogate pairs (4 bytes, 2 code units),
    // placed so that the preview edges and the read windows cut through characters.
    const pieces = ["a", "é", "€", "😀", "xy", "ß😀€"];
    for (const [index, length] of [50, 700, 1_203, 5_000, 40_001].entries()) {
      let text = "";
      for (let at = 0; text.length < length; at += 1) text += pieces[(at * 7 + index) % 6];
      const ref = await store.put(text);
      for (const previewChars of [0, 1, 7, 100, 600]) {
        expect(await store.describeString(ref, previewChars)).toEqual(
          describeContext(text, previewChars),
        );
      }
      // A slice of it (how a nested analysis sees its chunk), cut mid-character too.
      const bytes = Buffer.from(text, "utf8");
      const start = Math.floor(bytes.length / 5);
      const end = bytes.length - Math.floor(bytes.length / 7);
      const sliceText = bytes.subarray(start, end).toString("utf8");
      const slice = store.slice(ref, start, end, sliceText.length);
      expect(await store.describeString(slice, 100)).toEqual(describeContext(sliceText, 100));
    }
  });

  it("a description of an expired string is context_missing", async () => {
    const ref = await store.put("z".repeat(20_000));
    await redis.del(redisKeys(prefix).context(ref.sha256));
    await expect(store.describeString(ref, 100)).rejects.toMatchObject({
      code: "context_missing",
    });
  });
});
