import { describe, expect, it } from "vitest";
import { BufferedResponse } from "../src/buffered-response.js";

const json = (status: number, body: string, headers: Record<string, string | string[]> = {}) =>
  new BufferedResponse("http://x/v1/chat/completions", status, "OK", headers, Buffer.from(body));

describe("BufferedResponse", () => {
  it("reads the body once, as JSON or text", async () => {
    const response = json(200, '{"a":1}', { "content-type": "application/json" });
    expect(response.ok).toBe(true);
    expect(await response.json()).toEqual({ a: 1 });
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("reads headers case-insensitively and iterates them sorted, like Headers", () => {
    const response = json(429, "{}", {
      "retry-after": "2",
      "content-type": "application/json",
      "set-cookie": ["a=1", "b=2"],
    });
    expect(response.ok).toBe(false);
    expect(response.headers.get("Retry-After")).toBe("2");
    expect(response.headers.has("x-request-id")).toBe(false);
    expect(response.headers.get("x-request-id")).toBeNull();
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect([...response.headers.keys()]).toEqual(["content-type", "retry-after", "set-cookie"]);
    expect(new Headers([...response.headers]).get("retry-after")).toBe("2");
  });

  it("has a null body for 204 and a stream otherwise", async () => {
    expect(json(204, "").body).toBeNull();
    const stream = json(200, "hello").body;
    const reader = stream!.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe("hello");
  });
});
