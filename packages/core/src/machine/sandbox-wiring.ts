import type { RlmContext } from "../context.js";
import { InProcessSubCallExecutor } from "../in-process-executor.js";
import { journalKeys } from "../journal.js";
import type { RlmResult } from "../result.js";
import type { RunControl } from "../run-control.js";
import type { UsageTracker } from "../usage.js";
import type { AnalysisParams } from "./analysis-params.js";
import type { AnalysisProgress } from "./analysis-progress.js";
import { JournalPolicy } from "./journal-policy.js";
import { SandboxSession } from "./sandbox-session.js";
import { SubCallRouter } from "./sub-call-router.js";

/** An analysis whose REPL is wired: what its sandbox and sub-calls are built from. */
export interface SandboxOwner {
  params: AnalysisParams;
  control: RunControl;
  usage: UsageTracker;
  journal: JournalPolicy;
  progress: AnalysisProgress;
  /** A machine for a nested analysis (the owner's own kind): run to its end, then disposed. */
  createNested(params: AnalysisParams): { run(): Promise<RlmResult>; dispose(): void };
}

/**
 * The REPL of an analysis, with its sub-calls routed through the journal to the
 * runtime's executor, or when there is none, carried out in this process: a plain
 * completion, or below maxDepth a nested analysis.
 */
export function sandboxSessionFor(owner: SandboxOwner): SandboxSession {
  const { params, control, progress } = owner;
  const depth = progress.depth;
  const executor =
    params.runtime.subCalls ??
    new InProcessSubCallExecutor({
      analysisId: params.analysisId,
      model: params.runtime.model,
      options: params.options,
      control,
      runNested: (task) => runNested(owner, task),
    });
  const routerOver = (journal: JournalPolicy) =>
    new SubCallRouter({
      journal,
      executor,
      control,
      usage: owner.usage,
      depth,
      nested: depth + 1 < params.options.maxDepth,
      emit: (event) => progress.emit(event),
    });
  return new SandboxSession({
    factory: params.runtime.sandboxFactory,
    context: params.context,
    ...(params.document === undefined ? {} : { document: params.document }),
    seed: params.session?.seed ?? params.analysisId,
    ...(params.clockStartMs === undefined ? {} : { clockStartMs: params.clockStartMs }),
    limits: params.options.limits,
    control,
    router: routerOver(owner.journal),
    ...(params.session
      ? {
          prelude: params.session,
          routerFor: (journal) => routerOver(new JournalPolicy(journal, false)),
        }
      : {}),
  });
}

/** A nested RLM for a sub-call below maxDepth: own REPL, shared budgets. */
async function runNested(
  owner: SandboxOwner,
  task: { key: string; query: string; context: RlmContext; usage: UsageTracker },
): Promise<RlmResult> {
  const { params } = owner;
  const nested = owner.createNested({
    analysisId: `${params.analysisId}/${task.key}`,
    query: task.query,
    context: task.context,
    // A nested analysis answers its parent's code in text: the analysis's typed answer
    // is the top analysis's alone.
    options: { ...params.options, outputSchema: undefined },
    runtime: {
      ...params.runtime,
      journal: owner.journal.journal.scope(journalKeys.nested(task.key)),
      subCalls: undefined,
    },
    depth: owner.progress.depth + 1,
    control: owner.control,
    ...(params.clockStartMs === undefined ? {} : { clockStartMs: params.clockStartMs }),
    usage: task.usage,
  });
  try {
    return await nested.run();
  } finally {
    nested.dispose();
  }
}
