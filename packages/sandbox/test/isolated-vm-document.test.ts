import { describe, expect, it } from "vitest";
import { IsolatedVmDocument, releaseBufferNow } from "../src/index.js";

describe("IsolatedVmDocument.sharedText", () => {
  it("gives the host the document string without a second copy, valid after release", () => {
    const text = `${"a line of the ledger\n".repeat(50_000)}end`;
    const document = new IsolatedVmDocument(text);
    const shared = document.sharedText();
    expect(shared).toBe(text);
    document.release();
    // The host string shares the copy's memory, which lives as long as the string does.
    expect(shared?.slice(-3)).toBe("end");
    expect(shared?.length).toBe(text.length);
  });

  it("is undefined for arrays and objects, and refused after release", () => {
    const array = new IsolatedVmDocument(["a", "b"]);
    expect(array.sharedText()).toBeUndefined();
    array.release();
    expect(() => array.sharedText()).toThrow(/released/);
    const small = new IsolatedVmDocument("short text (copied, under 1 KB)");
    expect(small.sharedText()).toBe("short text (copied, under 1 KB)");
    small.release();
  });
});

describe("IsolatedVmDocument.fromUtf8", () => {
  it("decodes ASCII and UTF-8 bytes to the same text, and frees the bytes it took", () => {
    for (const text of [
      "plain ascii line\n".repeat(100_000),
      "naïve café 中文 😀\n".repeat(50_000),
    ]) {
      const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
      bytes.write(text);
      const document = IsolatedVmDocument.fromUtf8(bytes);
      expect(document.sharedText()).toBe(text);
      // Its memory went back at once: the buffer is detached.
      expect(bytes.length).toBe(0);
      document.release();
    }
  });
});

describe("releaseBufferNow", () => {
  it("frees a buffer that owns its memory and leaves a shared one alone", () => {
    const own = Buffer.allocUnsafeSlow(1 << 20).fill(1);
    expect(releaseBufferNow(own)).toBe(true);
    expect(own.length).toBe(0);
    const pooled = Buffer.from("small");
    expect(releaseBufferNow(pooled)).toBe(false);
    expect(pooled.toString()).toBe("small");
    const whole = Buffer.alloc(64).fill(2);
    const slice = whole.subarray(8, 16);
    expect(releaseBufferNow(slice)).toBe(false);
    expect(whole.length).toBe(64);
  });
});
