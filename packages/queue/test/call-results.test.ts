import { answeredSubCall } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { CallResults } from "../src/answers/call-results.js";

const record = answeredSubCall(
  { argumentsHash: "h", query: "q", contextChars: 1 },
  {
    content: "answer",
    model: "m",
    usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
    durationMs: 1,
  },
  1,
);

describe("CallResults", () => {
  it("hands a result to the listeners of its analysis only, until they unsubscribe", () => {
    const results = new CallResults();
    const seen: string[] = [];
    const stop = results.subscribe("a1", (key) => void seen.push(`a1:${key}`));
    results.subscribe("a2", (key) => void seen.push(`a2:${key}`));
    results.publish("a1", "sub:1.0:x:0", record);
    stop();
    results.publish("a1", "sub:1.0:y:0", record);
    results.publish("a2", "sub:1.0:z:0", record);
    expect(seen).toEqual(["a1:sub:1.0:x:0", "a2:sub:1.0:z:0"]);
  });

  it("a failing listener does not keep the others from their result", () => {
    const results = new CallResults();
    const seen: string[] = [];
    results.subscribe("a", () => {
      throw new Error("listener bug");
    });
    results.subscribe("a", (_key, got) => void seen.push(got.kind));
    expect(() => results.publish("a", "k", record)).not.toThrow();
    expect(seen).toEqual(["sub"]);
  });

  it("sends a result to other processes unless a listener here took it", () => {
    const sent: string[] = [];
    const results = new CallResults({
      publish: (analysisId, key) => void sent.push(`${analysisId}:${key}`),
      subscribe: () => () => undefined,
    });
    // A listener of the same analysis that waits for other keys (a nested run, say).
    results.subscribe("a", (key) => key === "mine");
    results.publish("a", "mine", record);
    results.publish("a", "theirs", record);
    results.publish("b", "nobody-here", record);
    expect(sent).toEqual(["a:theirs", "b:nobody-here"]);
    expect(results.delivered).toBe(1);
  });
});
