// A run's pending calls: where each is answered, as the run's driver asks on every change.
import { answeredSubCall, type SubCallTask, UsageTracker } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { PendingCalls } from "../src/sub-calls/pending-calls.js";

function task(key: string, nested = false): SubCallTask {
  return {
    key,
    query: `question ${key}`,
    context: "some text",
    depth: 0,
    nested,
    argumentsHash: key,
    usage: new UsageTracker(),
    remainingBudgets: {},
  };
}

const record = answeredSubCall(
  { argumentsHash: "h", query: "q", contextChars: 9 },
  {
    content: "yes",
    model: "sub",
    usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costUsd: null },
    durationMs: 1,
  },
  1,
);

describe("PendingCalls", () => {
  it("waits only for child jobs once every pending call is in one", () => {
    const pending = new PendingCalls();
    expect(pending.onlyChildren).toBe(false);
    void pending.add(task("a"));
    void pending.add(task("b"));
    void pending.add(task("c"));
    pending.place("a", "child", "job-a");
    pending.place("b", "here");
    expect(pending.onlyChildren).toBe(false);
    pending.place("c", "child", "job-c");
    expect(pending.onlyChildren).toBe(false);
    // The one made here is answered: the rest are in child jobs.
    expect(pending.resolve("b", record)).toBe(true);
    expect(pending.onlyChildren).toBe(true);
    expect(pending.children().map((child) => child.jobId)).toEqual(["job-a", "job-c"]);
    // A call added now is buffered for an LM job, not yet in one.
    void pending.add(task("d"));
    expect(pending.onlyChildren).toBe(false);
    pending.place("d", "child", "job-d");
    expect(pending.onlyChildren).toBe(true);
    pending.resolve("a", record);
    pending.reject("c", new Error("gone"));
    pending.fail("d", "its job failed");
    expect(pending.size).toBe(0);
    expect(pending.onlyChildren).toBe(false);
  });

  it("knows whether a nested analysis is among the child jobs", () => {
    const pending = new PendingCalls();
    void pending.add(task("plain"));
    void pending.add(task("nested", true));
    pending.place("plain", "child", "job-1");
    expect(pending.nestedInChildren).toBe(false);
    pending.place("nested", "child", "job-2");
    expect(pending.nestedInChildren).toBe(true);
    pending.resolve("nested", record);
    expect(pending.nestedInChildren).toBe(false);
    void pending.add(task("nested-again", true));
    pending.place("nested-again", "child", "job-3");
    pending.rejectAll(new Error("cancelled"));
    expect(pending.nestedInChildren).toBe(false);
    expect(pending.onlyChildren).toBe(false);
    void pending.add(task("after", true));
    pending.place("after", "child", "job-4");
    expect(pending.nestedInChildren).toBe(true);
    expect(pending.onlyChildren).toBe(true);
  });
});
