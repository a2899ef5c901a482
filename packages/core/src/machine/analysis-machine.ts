import type { JsonValue, RlmContext } from "../context.js";
import { describeContext } from "../describe-context.js";
import {
  BudgetExceededError,
  CancelledError,
  DocumentLoadError,
  ReplayMismatchError,
  RlmError,
  toRlmError,
} from "../errors.js";
import type { RlmEvent } from "../events.js";
import { InProcessSubCallExecutor } from "../in-process-executor.js";
import { type CellRecord, journalKeys, type RootCallRecord } from "../journal.js";
import type { ChatMessage } from "../model.js";
import { callModelWithin } from "../model-call-within.js";
import type { EngineOptions } from "../options.js";
import { parseResponse } from "../parse-response.js";
import { FINAL_ANSWER_PROMPT, ROOT_SYSTEM_PROMPT, rootUserPrompt } from "../prompts.js";
import type { FinishReason, ReplHistoryEntry, RlmResult } from "../result.js";
import { RunControl } from "../run-control.js";
import type { CellResult } from "../sandbox.js";
import { parseStructuredAnswer } from "../structured/structured-answer.js";
import type { UsageTracker } from "../usage.js";
import type { AnalysisParams, AnalysisRuntime } from "./analysis-params.js";
import type { DeferredContext } from "./deferred-context.js";
import { asRoot, fromCellRecord, toCellRecord } from "./cell-records.js";
import { JournalPolicy } from "./journal-policy.js";
import { type Phase, type ReplyPlan, planReply } from "./reply-plan.js";
import { SandboxSession, isDeferred } from "./sandbox-session.js";
import type { LiveSandbox, SessionPrelude, SessionQuestion } from "./session-prelude.js";
import { SubCallRouter } from "./sub-call-router.js";
import { TurnFeedback } from "./turn-feedback.js";
import { failSpan, inSpan, SpanAttributes, SpanNames, setUsageAttributes } from "../tracing.js";

export type StepOutcome = { done: false } | { done: true; result: RlmResult };

/**
 * The RLM iteration loop as a resumable step machine. Every model response and sub-call
 * result is written to the journal before it is used, so running a machine again over
 * the same journal replays the analysis (same REPL state, same answer) without repeating
 * any model call that had completed.
 *
 * The machine owns the phases (a root turn, its cells one by one, the last request for an
 * answer) and the answer; its collaborators own the rest: {@link JournalPolicy} (what is
 * read and when writes settle), {@link SubCallRouter} (journal, identical calls,
 * executor), {@link SandboxSession} (the REPL and its rebuilds).
 */
export class AnalysisMachine {
  readonly analysisId: string;
  readonly depth: number;
  private readonly query: string;
  private readonly context: RlmContext | { deferred: DeferredContext };
  private readonly options: EngineOptions;
  private readonly runtime: AnalysisRuntime;
  private readonly journal: JournalPolicy;
  private readonly control: RunControl;
  private readonly ownsControl: boolean;
  private readonly usage: UsageTracker;
  private readonly session: SandboxSession;
  private readonly startedAt: number;
  private readonly clockStartMs: number | undefined;
  private readonly sessionPrelude: SessionPrelude | undefined;
  /** Prefix of this analysis's cell keys: `q<n>/` for a session's question n, else "". */
  private readonly cellKeyPrefix: string;

  private phase: Phase = { name: "start" };
  private iteration = 1;
  private readonly messages: ChatMessage[] = [];
  private readonly history: ReplHistoryEntry[] = [];

  constructor(params: AnalysisParams) {
    this.analysisId = params.analysisId;
    this.query = params.query;
    this.context = params.context;
    this.options = params.options;
    this.runtime = params.runtime;
    this.depth = params.depth ?? 0;
    this.ownsControl = params.control === undefined;
    this.control =
      params.control ??
      new RunControl({
        budgets: params.options.budgets,
        concurrency: params.options.subConcurrency,
        signal: params.options.signal,
        ...(params.startedAt === undefined ? {} : { startedAt: params.startedAt }),
      });
    // The whole analysis's duration: a resumed run counts from when it began.
    this.startedAt = params.startedAt ?? Date.now();
    this.usage = params.usage ?? this.control.usage;
    this.journal = new JournalPolicy(params.runtime.journal, params.firstRun === true);
    this.clockStartMs = params.clockStartMs;
    this.sessionPrelude = params.session;
    this.cellKeyPrefix = params.session ? `q${params.session.position}/` : "";
    const executor =
      params.runtime.subCalls ??
      new InProcessSubCallExecutor({
        analysisId: this.analysisId,
        model: params.runtime.model,
        options: params.options,
        control: this.control,
        runNested: (task) => this.runNested(task),
      });
    const routerOver = (journal: JournalPolicy) =>
      new SubCallRouter({
        journal,
        executor,
        control: this.control,
        usage: this.usage,
        depth: this.depth,
        nested: this.depth + 1 < this.options.maxDepth,
        emit: (event) => this.emit(event),
      });
    this.session = new SandboxSession({
      factory: params.runtime.sandboxFactory,
      context: params.context,
      ...(params.document === undefined ? {} : { document: params.document }),
      seed: params.session?.seed ?? this.analysisId,
      ...(this.clockStartMs === undefined ? {} : { clockStartMs: this.clockStartMs }),
      limits: this.options.limits,
      control: this.control,
      router: routerOver(this.journal),
      ...(params.session
        ? {
            prelude: params.session,
            routerFor: (journal) => routerOver(new JournalPolicy(journal, false)),
          }
        : {}),
    });
  }

  /** Runs the machine to the end (in one span: see `SpanNames.analysis`). */
  async run(): Promise<RlmResult> {
    return inSpan(SpanNames.analysis, this.spanAttributes(), async (span) => {
      for (;;) {
        const outcome = await this.step();
        if (!outcome.done) continue;
        setUsageAttributes(span, outcome.result.usage, Object.keys(outcome.result.usage.byModel));
        if (outcome.result.error) failSpan(span, outcome.result.error);
        return outcome.result;
      }
    });
  }

  /** Advances by one transition: a root model call, one code cell, or the final prompt. */
  async step(): Promise<StepOutcome> {
    if (this.phase.name !== "done") {
      try {
        await this.advance();
        // Nothing of the journal is left in flight when the analysis ends.
        if (this.outcome().done) await this.journal.settle();
      } catch (error) {
        // The worker could not load the document: the run fails, not the analysis.
        if (error instanceof DocumentLoadError) throw error;
        this.finishWithError(error);
      }
    }
    return this.outcome();
  }

  /** Whether the machine has finished, and its result if so. */
  outcome(): StepOutcome {
    const phase = this.phase;
    return phase.name === "done" ? { done: true, result: phase.result } : { done: false };
  }

  /**
   * This analysis as the next question of a session needs it: its query, answer, the
   * cells that ran and its journal. Only once it is done.
   */
  sessionQuestion(): SessionQuestion | undefined {
    const phase = this.phase;
    if (phase.name !== "done") return undefined;
    return {
      query: this.query,
      answer: phase.result.answer,
      cells: this.session.executedCells(),
      journal: this.journal.journal,
    };
  }

  /**
   * Gives the open sandbox to the next question of a session (see `SessionPrelude.live`);
   * `dispose` then leaves it open.
   */
  handOverSandbox(): LiveSandbox | undefined {
    return this.session.handOver();
  }

  /** Releases the sandbox (and the document, when this machine loaded it). */
  dispose(): void {
    this.session.dispose();
    if (this.ownsControl) {
      // Anything still running for this analysis (an orphaned nested call, say) stops.
      this.control.abort();
      this.control.dispose();
    }
  }

  private async advance(): Promise<void> {
    const phase = this.phase;
    switch (phase.name) {
      case "start":
        return this.start();
      case "root_call":
        return this.rootCall();
      case "cells":
        return this.runNextCell(phase);
      case "final_prompt":
        return this.finalPrompt();
      case "done":
        return;
    }
  }

  private async start(): Promise<void> {
    const description = isDeferred(this.context)
      ? this.context.deferred.description
      : describeContext(this.context, this.options.previewChars);
    this.messages.push(
      { role: "system", content: ROOT_SYSTEM_PROMPT },
      {
        role: "user",
        content: rootUserPrompt(
          this.query,
          description,
          { number: this.iteration, max: this.options.maxIterations, depth: this.depth },
          // The configured budgets (a replay must build the same prompt); a nested
          // analysis in this process is told what its parent has left.
          this.ownsControl ? this.options.budgets : this.control.remainingBudgets(),
          this.options.outputSchema,
          this.sessionPrelude && this.sessionPrelude.position > 0
            ? {
                question: this.sessionPrelude.position + 1,
                variables: this.sessionPrelude.variables,
              }
            : undefined,
        ),
      },
    );
    this.phase = { name: "root_call" };
  }

  private async rootCall(): Promise<void> {
    if (this.stopIfControlTripped()) return;
    this.emit({
      type: "iteration_start",
      depth: this.depth,
      iteration: this.iteration,
      maxIterations: this.options.maxIterations,
    });
    const record = await this.session.whileWarming((sent) =>
      this.callRoot(journalKeys.root(this.iteration), sent),
    );
    this.messages.push({ role: "assistant", content: record.content });
    const plan = planReply(parseResponse(record.content));
    await this.followPlan(plan);
  }

  /** What a root turn's reply leads to: cells to run, an answer, or a note and a new turn. */
  private async followPlan(plan: ReplyPlan): Promise<void> {
    switch (plan.kind) {
      case "cells":
        this.phase = {
          name: "cells",
          blocks: plan.blocks,
          next: 0,
          feedback: new TurnFeedback(plan.notes),
        };
        return;
      case "answer": {
        const refused = this.accept(plan.answer);
        if (refused === undefined) return this.endIteration(0, true);
        return this.nextTurn([refused]);
      }
      case "variable": {
        const value = await this.session.readVariable(plan.name);
        if (value !== undefined) {
          const refused = this.accept(value);
          if (refused === undefined) return this.endIteration(0, true);
          return this.nextTurn([refused]);
        }
        return this.nextTurn([plan.missingNote(await this.session.variableNames())]);
      }
      case "note":
        return this.nextTurn([plan.note]);
    }
  }

  private async runNextCell(phase: Extract<Phase, { name: "cells" }>): Promise<void> {
    const block = phase.next;
    const code = phase.blocks[block] ?? "";
    const result = await this.runCell(code, block);
    phase.next += 1;
    const refused = result.final ? this.accept(result.final.answer) : undefined;
    phase.feedback.add(result, refused);
    if (result.final && refused === undefined) return this.endIteration(phase.next, true);
    if (this.stopIfControlTripped()) return;
    if (phase.next < phase.blocks.length) return;
    // All blocks ran: feed the outputs back and go to the next iteration.
    const upcoming = Math.min(this.iteration + 1, this.options.maxIterations);
    this.messages.push({
      role: "user",
      content: phase.feedback.prompt({
        number: upcoming,
        max: this.options.maxIterations,
        depth: this.depth,
      }),
    });
    this.endIteration(phase.next, false);
    this.advanceIteration();
  }

  private async finalPrompt(): Promise<void> {
    if (this.stopIfControlTripped()) return;
    this.messages.push({ role: "user", content: FINAL_ANSWER_PROMPT });
    const record = await this.callRoot(journalKeys.finalPrompt());
    this.messages.push({ role: "assistant", content: record.content });
    const parsed = parseResponse(record.content);
    if (parsed.finalDirective?.kind === "FINAL") {
      return this.finishLast(parsed.finalDirective.answer);
    }
    if (parsed.finalDirective?.kind === "FINAL_VAR") {
      // A FINAL_VAR naming nothing: the latest output beats the directive's own text.
      const value = await this.session.readVariable(parsed.finalDirective.name);
      return this.finishLast(value ?? this.partialAnswer());
    }
    // Told not to, the model still answered in code: `FINAL(best)` in a block means the
    // value of `best`, which only running the block gives. Its blocks run as cells.
    for (const [block, code] of parsed.codeBlocks.entries()) {
      const result = await this.runCell(code, block);
      if (result.final) return this.finishLast(result.final.answer);
      if (this.stopIfControlTripped()) return;
    }
    // No directive anywhere: the reply's text is the answer, never its code fences (but
    // the inside of a fence that is not code, when it is all there is).
    const fences = parsed.otherFences.map((fence) => fence.code).filter(Boolean);
    this.finishLast(parsed.prose || fences.join("\n\n") || this.partialAnswer());
  }

  /**
   * Takes `answer` as the analysis's answer: checked against the output schema when there
   * is one. Returns the note for the model when the answer was refused.
   */
  private accept(answer: string): string | undefined {
    const schema = this.options.outputSchema;
    if (!schema) {
      this.finish("final", answer);
      return undefined;
    }
    const checked = parseStructuredAnswer(answer, schema);
    if (!checked.ok) return TurnFeedback.schemaMismatch(checked.problems);
    this.finish("final", checked.json, undefined, checked.value);
    return undefined;
  }

  /** The answer at the iteration limit: typed when it matches the schema. */
  private finishLast(answer: string): void {
    const schema = this.options.outputSchema;
    if (!schema) return this.finish("max_iterations", answer);
    const checked = parseStructuredAnswer(answer, schema);
    if (checked.ok) return this.finish("max_iterations", checked.json, undefined, checked.value);
    this.finish(
      "max_iterations",
      answer,
      new RlmError(
        "output_invalid",
        `the last answer does not match the output schema: ${checked.problems}`,
      ),
    );
  }

  /**
   * A lost cell taken from the journal that a budget stopped: the replay stops there as
   * the first run did (its sub-calls are not replayed, so their spend is not counted).
   */
  private replayBudgetStop(record: CellRecord): void {
    if (record.budgetStop) {
      this.control.stopForBudget(
        new BudgetExceededError(record.budgetStop.budget, record.budgetStop.message),
      );
    }
  }

  /**
   * Runs block `block` of this iteration's reply (the turns' and the last reply's cells
   * alike), then journals it, adds it to the history and tells the listeners.
   */
  private runCell(code: string, block: number): Promise<CellResult> {
    const cellKey = `${this.cellKeyPrefix}${this.iteration}.${block}`;
    const attributes = {
      ...this.spanAttributes(),
      [SpanAttributes.iteration]: this.iteration,
      [SpanAttributes.cellBlock]: block,
      [SpanAttributes.cellKey]: cellKey,
    };
    return inSpan(SpanNames.cell, attributes, async (span) => {
      const result = await this.runCellIn(code, block, cellKey);
      if (span.isRecording()) {
        span.setAttribute(SpanAttributes.subCalls, result.subCalls);
        if (result.sandboxLost) span.setAttribute(SpanAttributes.sandboxLost, true);
        // The model's code failed: the analysis goes on (the model reads the error).
        if (result.error !== undefined) failSpan(span, new Error(result.error));
      }
      return result;
    });
  }

  private async runCellIn(code: string, block: number, cellKey: string): Promise<CellResult> {
    // A cell that lost its isolate when it first ran is not run again on replay: its
    // outcome (timeouts depend on timing) is taken from the journal, so a resumed
    // analysis follows the same path as the original.
    const journaled = await this.journal.lookUp(journalKeys.cell(this.iteration, block));
    let result: CellResult;
    if (journaled?.kind === "cell" && journaled.sandboxLost) {
      result = fromCellRecord(journaled);
      this.replayBudgetStop(journaled);
    } else {
      const executed = await this.session.execute(code, cellKey);
      result = TurnFeedback.withHints(code, executed.result);
      // The cell ran to its end before (it is journaled), yet asked for a call the
      // journal does not hold: its code is not deterministic. Detected and reported.
      if (journaled?.kind === "cell" && executed.newSubCalls > 0) {
        const mismatch = new ReplayMismatchError(
          `iteration ${this.iteration}, block ${block}: the replayed cell made ${executed.newSubCalls} sub-call(s) its first run did not make; they were carried out`,
        );
        this.emit({
          type: "replay_mismatch",
          depth: this.depth,
          iteration: this.iteration,
          block,
          code: "replay_mismatch",
          message: mismatch.message,
        });
      }
    }
    await this.recordCell(code, block, result);
    return result;
  }

  /** Journals a cell's outcome, adds it to the history and tells the listeners. */
  private async recordCell(code: string, block: number, result: CellResult): Promise<void> {
    const written = this.journal.put(
      journalKeys.cell(this.iteration, block),
      toCellRecord(code, result, this.control.exhausted),
    );
    // A cell that lost its isolate is replayed from this record (its outcome depended on
    // timing): it must be there before anything builds on it. Any other cell is simply
    // run again on replay, so its record is written while the analysis goes on, and
    // waited for before the next root turn is journaled (see `JournalPolicy.settle`).
    if (result.sandboxLost) await written;
    else this.journal.deferWrite(written);
    this.history.push({
      iteration: this.iteration,
      code,
      output: result.output,
      ...(result.error === undefined ? {} : { error: result.error }),
      durationMs: result.durationMs,
      subCalls: result.subCalls,
      ...(result.unawaitedSubCalls ? { unawaitedSubCalls: result.unawaitedSubCalls } : {}),
    });
    this.emit({
      type: "cell_end",
      depth: this.depth,
      iteration: this.iteration,
      block,
      durationMs: result.durationMs,
      ...(result.error === undefined ? {} : { error: result.error }),
      ...(result.sandboxLost ? { sandboxLost: true } : {}),
    });
  }

  /**
   * A root-model turn: from the journal when it was already answered, else from the model
   * (`sent` is told once the request is on its way).
   */
  private callRoot(key: string, sent?: () => void): Promise<RootCallRecord> {
    const attributes = {
      ...this.spanAttributes(),
      [SpanAttributes.iteration]: this.iteration,
      [SpanAttributes.turn]: key,
      [SpanAttributes.requestModel]: this.options.rootModel,
    };
    return inSpan(SpanNames.rootTurn, attributes, async (span) => {
      const record = await this.askRoot(key, sent, () => {
        span.setAttribute(SpanAttributes.replayed, true);
      });
      setUsageAttributes(span, record.usage, [record.model]);
      return record;
    });
  }

  /** `callRoot` without its span; `replayed` is told when the journal had the turn. */
  private async askRoot(
    key: string,
    sent: (() => void) | undefined,
    replayed: () => void,
  ): Promise<RootCallRecord> {
    const existing = await this.journal.lookUp(key);
    if (existing?.kind === "root") {
      this.usage.recordReplayed({ [existing.model]: existing.usage }, 1);
      replayed();
      return existing;
    }
    this.journal.markPast();
    this.control.checkBeforeModelCall();
    const messages = this.messages.map((message) => ({ ...message }));
    const call = callModelWithin(this.control, this.runtime.model, {
      model: this.options.rootModel,
      messages,
      signal: this.control.signal,
      analysisId: this.analysisId,
      ...(this.options.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: this.options.maxOutputTokens }),
      ...(this.options.streamRootTurns && this.options.onEvent
        ? {
            onDelta: ({ receivedChars }: { receivedChars: number }) =>
              this.emit({
                type: "root_delta",
                depth: this.depth,
                iteration: this.iteration,
                receivedChars,
              }),
          }
        : {}),
    });
    sent?.();
    const response = await call;
    this.usage.record(response.model, response.usage);
    await this.journal.settle();
    const record: RootCallRecord = {
      kind: "root",
      content: response.content,
      model: response.model,
      usage: response.usage,
      durationMs: response.durationMs,
    };
    return asRoot(await this.journal.put(key, record));
  }

  /** A nested RLM for a sub-call below maxDepth: own REPL, shared budgets. */
  private async runNested(task: {
    key: string;
    query: string;
    context: RlmContext;
    usage: UsageTracker;
  }): Promise<RlmResult> {
    const nested = new AnalysisMachine({
      analysisId: `${this.analysisId}/${task.key}`,
      query: task.query,
      context: task.context,
      // A nested analysis answers its parent's code in text: the analysis's typed answer
      // is the top analysis's alone.
      options: { ...this.options, outputSchema: undefined },
      runtime: {
        ...this.runtime,
        journal: this.journal.journal.scope(journalKeys.nested(task.key)),
        subCalls: undefined,
      },
      depth: this.depth + 1,
      control: this.control,
      ...(this.clockStartMs === undefined ? {} : { clockStartMs: this.clockStartMs }),
      usage: task.usage,
    });
    try {
      return await nested.run();
    } finally {
      nested.dispose();
    }
  }

  /** Stops the analysis when it was cancelled or a budget ran out. */
  private stopIfControlTripped(): boolean {
    if (this.control.exhausted) {
      this.finish("budget", this.partialAnswer(), this.control.exhausted);
      return true;
    }
    if (this.control.signal.aborted) {
      this.finish("cancelled", this.partialAnswer(), new CancelledError());
      return true;
    }
    return false;
  }

  private finishWithError(error: unknown): void {
    if (error instanceof BudgetExceededError) {
      this.finish("budget", this.partialAnswer(), error);
    } else if (error instanceof CancelledError || (this.control.cancelled && isAbort(error))) {
      this.finish("cancelled", this.partialAnswer(), new CancelledError());
    } else if (this.control.exhausted && isAbort(error)) {
      this.finish("budget", this.partialAnswer(), this.control.exhausted);
    } else {
      this.finish("error", this.partialAnswer(), toRlmError(error));
    }
  }

  private finish(
    finishReason: FinishReason,
    answer: string,
    error?: RlmError,
    output?: JsonValue,
  ): void {
    const result: RlmResult = {
      answer,
      ...(output === undefined ? {} : { output }),
      finishReason,
      iterations: Math.min(this.iteration, this.options.maxIterations),
      totalCalls: this.usage.calls,
      replHistory: this.history.map((entry) => ({ ...entry })),
      messages: this.messages.map((message) => ({ ...message })),
      usage: this.usage.summary(),
      durationMs: Date.now() - this.startedAt,
      ...(error === undefined
        ? {}
        : { error: { code: error.code, message: error.message, retryable: error.retryable } }),
    };
    this.phase = { name: "done", result };
  }

  /** The best answer available when the analysis stops early: the latest printed output. */
  private partialAnswer(): string {
    for (let index = this.history.length - 1; index >= 0; index -= 1) {
      const output = this.history[index]?.output.trim();
      if (output) return output.slice(0, 4000);
    }
    for (let index = this.messages.length - 1; index >= 2; index -= 1) {
      const message = this.messages[index];
      if (message?.role === "assistant") return message.content.trim().slice(0, 4000);
    }
    return "";
  }

  /** The reply led nowhere yet: the model is told why, and the next turn begins. */
  private nextTurn(notes: string[]): void {
    const next = Math.min(this.iteration + 1, this.options.maxIterations);
    this.messages.push({
      role: "user",
      content: [...notes, `Iteration ${next} of ${this.options.maxIterations}.`].join("\n\n"),
    });
    this.endIteration(0, false);
    this.advanceIteration();
  }

  private endIteration(cells: number, final: boolean): void {
    this.emit({
      type: "iteration_end",
      depth: this.depth,
      iteration: this.iteration,
      cells,
      final,
      usage: this.usage.summary(),
    });
  }

  private advanceIteration(): void {
    this.iteration += 1;
    this.phase =
      this.iteration > this.options.maxIterations
        ? { name: "final_prompt" }
        : { name: "root_call" };
  }

  /** What every span of this analysis carries. */
  private spanAttributes(): Record<string, string | number> {
    return { [SpanAttributes.analysisId]: this.analysisId, [SpanAttributes.depth]: this.depth };
  }

  private emit(event: RlmEvent): void {
    const listener = this.options.onEvent;
    if (!listener) return;
    try {
      listener(event);
    } catch {
      // A failing progress listener must not break the analysis.
    }
  }
}

function isAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "cancelled" || (error instanceof Error && error.name === "AbortError");
}
