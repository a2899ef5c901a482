import type { RlmContext } from "./context.js";
import { BudgetExceededError, CancelledError, toRlmError } from "./errors.js";
import type { SubCallRecord } from "./journal.js";
import type { ModelClient } from "./model.js";
import type { EngineOptions } from "./options.js";
import { subCallMessages } from "./prompts.js";
import type { RlmResult } from "./result.js";
import type { RunControl } from "./run-control.js";
import { type SubCallExecutor, type SubCallTask, subContextText } from "./sub-call.js";
import type { UsageTracker } from "./usage.js";

export interface InProcessExecutorOptions {
  model: ModelClient;
  options: EngineOptions;
  control: RunControl;
  /** Runs a nested analysis (depth + 1 < maxDepth) and returns its result. */
  runNested: (task: {
    key: string;
    query: string;
    context: RlmContext;
    usage: UsageTracker;
  }) => Promise<RlmResult>;
}

/** Carries out sub-calls in this process: a plain completion, or a nested analysis. */
export class InProcessSubCallExecutor implements SubCallExecutor {
  constructor(private readonly settings: InProcessExecutorOptions) {}

  async execute(task: SubCallTask): Promise<SubCallRecord> {
    return task.nested ? this.nested(task) : this.plain(task);
  }

  private async plain(task: SubCallTask): Promise<SubCallRecord> {
    const { control, model, options } = this.settings;
    const text = subContextText(task.context);
    const startedAt = Date.now();
    const base = {
      kind: "sub" as const,
      argumentsHash: task.argumentsHash,
      query: task.query,
      contextChars: text?.length ?? 0,
    };
    try {
      const response = await control.limit(() => {
        // Checked inside the limit: a call queued behind others sees the latest spend.
        control.checkBeforeModelCall();
        return model.complete({
          model: options.subModel,
          messages: subCallMessages(task.query, text),
          signal: control.signal,
        });
      });
      task.usage.record(response.model, response.usage);
      return {
        ...base,
        answer: response.content,
        usage: response.usage,
        byModel: { [response.model]: response.usage },
        calls: 1,
        durationMs: Date.now() - startedAt,
      };
    } catch (error) {
      rethrowIfStopping(error, control);
      const failure = toRlmError(error);
      return {
        ...base,
        error: { code: failure.code, message: failure.message },
        usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: null },
        byModel: {},
        calls: 0,
        durationMs: Date.now() - startedAt,
      };
    }
  }

  private async nested(task: SubCallTask): Promise<SubCallRecord> {
    const { control } = this.settings;
    const startedAt = Date.now();
    const usage = task.usage.child();
    const context = toNestedContext(task.context);
    const result = await this.settings.runNested({
      key: task.key,
      query: task.query,
      context,
      usage,
    });
    if (result.finishReason === "budget" && control.exhausted) throw control.exhausted;
    if (result.finishReason === "cancelled") throw new CancelledError();
    const summary = usage.summary();
    const { byModel, ...totals } = summary;
    return {
      kind: "sub",
      argumentsHash: task.argumentsHash,
      query: task.query,
      contextChars: subContextText(task.context)?.length ?? 0,
      ...(result.finishReason === "error"
        ? {
            error: {
              code: result.error?.code ?? "nested_failed",
              message: result.error?.message ?? "the nested analysis failed",
            },
          }
        : { answer: result.answer }),
      usage: totals,
      byModel,
      calls: usage.calls,
      durationMs: Date.now() - startedAt,
    };
  }
}

/** Cancellation and spent budgets stop the analysis; they are not the call's answer. */
function rethrowIfStopping(error: unknown, control: RunControl): void {
  if (error instanceof BudgetExceededError || error instanceof CancelledError) throw error;
  if (control.signal.aborted) throw control.exhausted ?? new CancelledError();
}

function toNestedContext(context: SubCallTask["context"]): RlmContext {
  if (context === undefined || context === null) return "";
  if (typeof context === "string" || Array.isArray(context)) return context as RlmContext;
  if (typeof context === "object") return context;
  return String(context);
}
