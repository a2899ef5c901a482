import { setMaxListeners } from "node:events";
import { type ConcurrencyGate, checkedGate, FifoGate } from "./concurrency-gate.js";
import { BudgetExceededError, CancelledError, RlmError } from "./errors.js";

/** Sub-context characters an analysis may have in flight at once (about 512 MB of text). */
export const SUB_CONTEXT_CHARS_IN_FLIGHT = 256 * 1024 * 1024;
import type { RlmBudgets } from "./options.js";
import { UsageTracker } from "./usage.js";

/**
 * State shared by an analysis and every nested analysis below it: budgets, the usage
 * of the whole tree, the model-call concurrency limit and cancellation.
 */
export class RunControl {
  readonly usage = new UsageTracker();
  /**
   * Bounds model calls in flight for the whole tree (`concurrency` slots). A client that
   * honours gates holds a slot only around each HTTP exchange; any other is held around
   * its whole call, through {@link RunControl.limit}.
   */
  readonly gate: FifoGate;
  /**
   * Bounds calls inside a gate-honouring client's `complete` at once (twice the gate):
   * enough that the next requests are built while the gate is full, few enough that a
   * fan-out of thousands does not build thousands of request bodies up front.
   */
  readonly pending: FifoGate;
  /** {@link RunControl.gate} as given to model calls: the budgets are checked per slot. */
  readonly modelGate: ConcurrencyGate;
  readonly budgets: RlmBudgets;
  /** When the analysis began (epoch ms): the deadline counts from here, across resumes. */
  readonly startedAt: number;
  private subCallsStarted = 0;
  private subContextCharsInFlight = 0;
  private readonly controller = new AbortController();
  private readonly deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly detachSignal: () => void;
  /** The first budget that ran out, if any: the analysis then stops with `budget`. */
  exhausted: BudgetExceededError | undefined;

  constructor(options: {
    budgets: RlmBudgets;
    concurrency: number;
    signal?: AbortSignal;
    /** Epoch ms the analysis began; default now. A resumed analysis passes its start. */
    startedAt?: number;
  }) {
    this.budgets = options.budgets;
    this.startedAt = options.startedAt ?? Date.now();
    this.gate = new FifoGate(options.concurrency);
    this.pending = new FifoGate(2 * options.concurrency);
    this.modelGate = checkedGate(this.gate, () => this.checkBeforeModelCall());
    // Every model call in flight listens on this signal: many at once is normal here.
    setMaxListeners(0, this.controller.signal);
    const external = options.signal;
    const onAbort = () => this.controller.abort(new CancelledError());
    if (external?.aborted) onAbort();
    external?.addEventListener("abort", onAbort, { once: true });
    this.detachSignal = () => external?.removeEventListener("abort", onAbort);
    if (options.budgets.deadlineMs !== undefined) {
      const deadline = options.budgets.deadlineMs;
      const remaining = Math.max(0, this.startedAt + deadline - Date.now());
      this.deadlineTimer = setTimeout(() => {
        this.markExhausted(
          new BudgetExceededError("deadlineMs", `the deadline of ${deadline} ms passed`),
        );
        this.controller.abort(this.exhausted);
      }, remaining);
      this.deadlineTimer.unref?.();
    }
  }

  /** Runs `task` holding a slot of {@link RunControl.gate} for its whole duration. */
  limit<T>(task: () => PromiseLike<T> | T): Promise<T> {
    return this.gate.run(task);
  }

  /** Aborted on cancellation or when the deadline passes; given to every model call. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted && this.exhausted === undefined;
  }

  /** Throws when no further model call may start (cancelled or a budget is spent). */
  checkBeforeModelCall(): void {
    if (this.exhausted) throw this.exhausted;
    if (this.controller.signal.aborted) throw new CancelledError();
    const spent = this.spentBudget();
    if (spent) throw this.markExhausted(spent);
  }

  /** The token or cost budget the usage so far has spent, if one is. */
  private spentBudget(): BudgetExceededError | undefined {
    const { maxTokens, maxCostUsd } = this.budgets;
    if (maxTokens !== undefined && this.usage.tokens >= maxTokens) {
      return new BudgetExceededError("maxTokens", `the token budget of ${maxTokens} is spent`);
    }
    if (maxCostUsd !== undefined && this.usage.costUsd >= maxCostUsd) {
      return new BudgetExceededError("maxCostUsd", `the cost budget of $${maxCostUsd} is spent`);
    }
    return undefined;
  }

  /**
   * After a model call's usage was recorded: when the token or cost budget is now spent,
   * marks it and aborts the analysis's signal, so the calls still in flight stop and a
   * running cell ends, instead of the overspend growing until the next call is refused.
   * Returns true when it stopped the analysis.
   */
  stopIfSpent(): boolean {
    if (this.exhausted || this.controller.signal.aborted) return false;
    const spent = this.spentBudget();
    if (spent) this.stopForBudget(spent);
    return spent !== undefined;
  }

  /** Stops the analysis for `error`'s budget (one that ran out in an earlier run of it). */
  stopForBudget(error: BudgetExceededError): void {
    this.markExhausted(error);
    if (!this.controller.signal.aborted) this.controller.abort(this.exhausted);
  }

  /** Counts a sub-call against `maxSubCalls` (replayed ones too, so replays agree). */
  reserveSubCall(): void {
    const { maxSubCalls } = this.budgets;
    if (maxSubCalls !== undefined && this.subCallsStarted >= maxSubCalls) {
      throw this.markExhausted(
        new BudgetExceededError("maxSubCalls", `the budget of ${maxSubCalls} sub-calls is spent`),
      );
    }
    this.subCallsStarted += 1;
  }

  /**
   * What is left of each budget now: handed to a nested analysis that runs elsewhere (a
   * child job), so the tree as a whole stays within the budgets it was given.
   */
  remainingBudgets(): RlmBudgets {
    const { maxSubCalls, maxTokens, maxCostUsd, deadlineMs } = this.budgets;
    const remaining: RlmBudgets = {};
    if (maxSubCalls !== undefined)
      remaining.maxSubCalls = Math.max(0, maxSubCalls - this.subCallsStarted);
    if (maxTokens !== undefined) remaining.maxTokens = Math.max(1, maxTokens - this.usage.tokens);
    if (maxCostUsd !== undefined) {
      remaining.maxCostUsd = Math.max(Number.EPSILON, maxCostUsd - this.usage.costUsd);
    }
    if (deadlineMs !== undefined) {
      remaining.deadlineMs = Math.max(1, this.startedAt + deadlineMs - Date.now());
    }
    return remaining;
  }

  /**
   * Holds `chars` of sub-context for a call in flight; throws when the analysis already
   * holds `SUB_CONTEXT_CHARS_IN_FLIGHT`. Each sub-context is a copy on the host: code that
   * fires 60 calls with a 20 MB chunk each would otherwise take gigabytes of worker memory.
   * Returns the release.
   */
  holdSubContext(chars: number): () => void {
    if (chars > 0 && this.subContextCharsInFlight + chars > SUB_CONTEXT_CHARS_IN_FLIGHT) {
      throw new RlmError(
        "sub_context_limit",
        `too much sub-context in flight (${this.subContextCharsInFlight + chars} characters, limit ${SUB_CONTEXT_CHARS_IN_FLIGHT}): await some calls before starting more, or send smaller chunks`,
      );
    }
    this.subContextCharsInFlight += chars;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.subContextCharsInFlight -= chars;
    };
  }

  private markExhausted(error: BudgetExceededError): BudgetExceededError {
    this.exhausted ??= error;
    return this.exhausted;
  }

  /** Stops every model call of the analysis still running (it has ended). */
  abort(): void {
    if (!this.controller.signal.aborted)
      this.controller.abort(new CancelledError("the analysis has ended"));
  }

  dispose(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.detachSignal();
  }
}
