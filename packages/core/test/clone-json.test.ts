import { describe, expect, it } from "vitest";
import { cloneJson } from "../src/clone-json.js";

describe("cloneJson", () => {
  it("copies JSON data deeply, keeping undefined fields and __proto__ keys as keys", () => {
    const source = JSON.parse('{"a":[1,{"b":"c"}],"d":null,"__proto__":{"x":1}}') as Record<
      string,
      unknown
    >;
    source.e = undefined;
    const copy = cloneJson(source);
    expect(copy).toEqual(source);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toContain("__proto__");
    (source.a as unknown[]).push(2);
    expect(copy.a).toHaveLength(2);
  });
});
