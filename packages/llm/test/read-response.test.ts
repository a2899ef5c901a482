import { describe, expect, it } from "vitest";
import { readResponse } from "../src/read-response.js";

const bytes = () => Buffer.from('{"answer":"é 中"}');
const init = { status: 201, headers: [["content-type", "application/json"]] as [string, string][] };

describe("a response read whole", () => {
  it("is a Response with its status and headers, whose body reads once", async () => {
    const response = readResponse(bytes(), init);
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual({ answer: "é 中" });
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it("gives its text, its bytes, a blob, a stream and clones like any Response", async () => {
    expect(await readResponse(bytes(), init).text()).toBe('{"answer":"é 中"}');
    expect(Buffer.from(await readResponse(bytes(), init).arrayBuffer())).toEqual(bytes());
    const blob = await readResponse(bytes(), init).blob();
    expect(blob.type).toBe("application/json");
    expect(await blob.text()).toBe('{"answer":"é 中"}');
    const streamed = readResponse(bytes(), init);
    expect(await new Response(streamed.body).text()).toBe('{"answer":"é 中"}');
    expect(streamed.bodyUsed).toBe(true);
    const original = readResponse(bytes(), init);
    const copy = original.clone();
    expect(await copy.json()).toEqual(await original.json());
    expect(copy.status).toBe(201);
    expect(() => original.clone()).toThrow(TypeError);
  });
});
