import { describe, expect, it } from "vitest";
import { IsolatedVmDocument } from "../src/index.js";

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
