import { describe, expect, it } from "vitest";
import { UsageTracker } from "../src/usage.js";

const usage = (input: number, output: number, cost: number | null) => ({
  inputTokens: input,
  outputTokens: output,
  cachedInputTokens: 0,
  costUsd: cost,
});

describe("UsageTracker", () => {
  it("sums per model and keeps unknown prices null per model", () => {
    const tracker = new UsageTracker();
    tracker.record("gpt-4o", usage(10, 5, 0.01));
    tracker.record("local-llama", usage(100, 50, null));
    tracker.record("gpt-4o", usage(1, 1, 0.002));
    const summary = tracker.summary();
    expect(tracker.calls).toBe(3);
    expect(summary.inputTokens).toBe(111);
    expect(summary.byModel["gpt-4o"]?.costUsd).toBeCloseTo(0.012);
    expect(summary.byModel["local-llama"]?.costUsd).toBeNull();
    expect(summary.costUsd).toBeCloseTo(0.012);
  });

  it("reports a null total cost when no model has a price", () => {
    const tracker = new UsageTracker();
    tracker.record("local", usage(1, 1, null));
    expect(tracker.summary().costUsd).toBeNull();
  });

  it("counts a child's calls in the child and in its ancestors", () => {
    const root = new UsageTracker();
    const child = root.child();
    const grandchild = child.child();
    grandchild.record("m", usage(3, 4, 0.1));
    child.recordReplayed({ m: usage(1, 1, 0.05) }, 2);
    expect(grandchild.calls).toBe(1);
    expect(child.calls).toBe(3);
    expect(root.calls).toBe(3);
    expect(root.tokens).toBe(9);
    expect(root.costUsd).toBeCloseTo(0.15);
  });
});

describe("RunControl.holdSubContext", () => {
  it("refuses sub-context beyond the in-flight limit and frees it when released", async () => {
    const { RunControl, SUB_CONTEXT_CHARS_IN_FLIGHT } = await import("../src/run-control.js");
    const control = new RunControl({ budgets: {}, concurrency: 4 });
    const release = control.holdSubContext(SUB_CONTEXT_CHARS_IN_FLIGHT - 10);
    expect(() => control.holdSubContext(11)).toThrow(/too much sub-context in flight/);
    const small = control.holdSubContext(10);
    small();
    release();
    release(); // idempotent
    const again = control.holdSubContext(SUB_CONTEXT_CHARS_IN_FLIGHT);
    again();
    control.dispose();
  });
});
