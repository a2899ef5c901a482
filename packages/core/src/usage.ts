import type { TokenUsage } from "./model.js";
import type { UsageSummary } from "./result.js";

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0 };
}

/** Sums two usages; a cost stays a number (unknown prices count as 0 in totals). */
export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    costUsd: addCost(a.costUsd, b.costUsd),
  };
}

function addCost(a: number | null, b: number | null): number | null {
  if (a === null && b === null) return null;
  return (a ?? 0) + (b ?? 0);
}

/**
 * Usage of an analysis and everything below it. A nested analysis gets a child tracker:
 * its calls count in the child (so its sub-call record carries exactly its own usage)
 * and in every ancestor (so budgets and the root's totals see the whole tree).
 */
export class UsageTracker {
  private total: TokenUsage = emptyUsage();
  private readonly models = new Map<string, TokenUsage>();
  private readonly parent: UsageTracker | undefined;
  /** Model calls counted (root, sub and nested). */
  calls = 0;

  constructor(parent?: UsageTracker) {
    this.parent = parent;
  }

  /** A tracker for a nested analysis that also counts into this one. */
  child(): UsageTracker {
    return new UsageTracker(this);
  }

  /** Records one model call. A null cost stays null in that model's entry. */
  record(model: string, usage: TokenUsage): void {
    this.add({ [model]: usage }, 1);
  }

  /** Adds a journaled sub-call's usage (made of `calls` model calls, per model). */
  recordReplayed(byModel: Record<string, TokenUsage>, calls: number): void {
    this.add(byModel, calls);
  }

  private add(byModel: Record<string, TokenUsage>, calls: number): void {
    this.calls += calls;
    for (const [model, usage] of Object.entries(byModel)) {
      this.total = addUsage(this.total, { ...usage, costUsd: usage.costUsd ?? 0 });
      const previous = this.models.get(model);
      this.models.set(model, previous ? addUsage(previous, usage) : { ...usage });
    }
    this.parent?.add(byModel, calls);
  }

  get tokens(): number {
    return this.total.inputTokens + this.total.outputTokens;
  }

  get costUsd(): number {
    return this.total.costUsd ?? 0;
  }

  summary(): UsageSummary {
    const byModel: Record<string, TokenUsage> = {};
    for (const [model, usage] of this.models) byModel[model] = { ...usage };
    const hasKnownCost = [...this.models.values()].some((usage) => usage.costUsd !== null);
    return { ...this.total, costUsd: hasKnownCost ? this.total.costUsd : null, byModel };
  }
}
