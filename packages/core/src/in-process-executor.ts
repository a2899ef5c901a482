import type { RlmContext } from "./context.js";
import { BudgetExceededError, CancelledError, toRlmError } from "./errors.js";
import type { SubCallRecord } from "./journal.js";
import type { ModelClient } from "./model.js";
import { callModelWithin } from "./model-call-within.js";
import type { EngineOptions } from "./options.js";
import type { RlmResult } from "./result.js";
import type { RunControl } from "./run-control.js";
import { type SubCallExecutor, type SubCallTask, subContextText } from "./sub-call.js";
import { completeSubCall } from "./structured/sub-call-completion.js";
import {
  completedSubCall,
  failedSubCall,
  nestedSubCall,
  type SubCallIdentity,
} from "./sub-call-records.js";
import type { UsageTracker } from "./usage.js";

export interface InProcessExecutorOptions {
  /** The analysis whose sub-calls these are (sent along in each model request, for logs). */
  analysisId: string;
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
    const { analysisId, control, model, options } = this.settings;
    const text = subContextText(task.context);
    const startedAt = Date.now();
    const identity = identityOf(task, text);
    try {
      const completion = await completeSubCall({
        client: model,
        // Budgets are checked when the call gets its slot: it sees the latest spend.
        call: async (request) => {
          const response = await callModelWithin(control, model, request);
          task.usage.record(response.model, response.usage);
          return response;
        },
        request: { model: options.subModel, signal: control.signal, analysisId },
        query: task.query,
        text,
        ...(task.schema ? { schema: task.schema } : {}),
      });
      return completedSubCall(identity, completion, Date.now() - startedAt);
    } catch (error) {
      rethrowIfStopping(error, control);
      return failedSubCall(identity, toRlmError(error), Date.now() - startedAt);
    }
  }

  private async nested(task: SubCallTask): Promise<SubCallRecord> {
    const { control } = this.settings;
    const startedAt = Date.now();
    const result = await this.settings.runNested({
      key: task.key,
      query: task.query,
      context: toNestedContext(task.context),
      usage: task.usage.child(),
    });
    if (result.finishReason === "budget" && control.exhausted) throw control.exhausted;
    if (result.finishReason === "cancelled") throw new CancelledError();
    const identity = identityOf(task, subContextText(task.context));
    return nestedSubCall(identity, result, Date.now() - startedAt);
  }
}

function identityOf(task: SubCallTask, text: string | undefined): SubCallIdentity {
  return { argumentsHash: task.argumentsHash, query: task.query, contextChars: text?.length ?? 0 };
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
