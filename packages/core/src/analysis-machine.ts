import type { RlmContext } from "./context.js";
import { type ContextDescription, describeContext } from "./describe-context.js";
import {
  BudgetExceededError,
  CancelledError,
  DocumentLoadError,
  ReplayMismatchError,
  type RlmError,
  toRlmError,
} from "./errors.js";
import type { RlmEvent } from "./events.js";
import { InProcessSubCallExecutor } from "./in-process-executor.js";
import {
  type CellRecord,
  type Journal,
  type JournalRecord,
  journalKeys,
  type RootCallRecord,
  type SubCallRecord,
} from "./journal.js";
import type { ChatMessage, ModelClient } from "./model.js";
import { callModelWithin } from "./model-call-within.js";
import type { EngineOptions } from "./options.js";
import { parseResponse } from "./parse-response.js";
import {
  FINAL_ANSWER_PROMPT,
  FINAL_WITH_CODE_NOTE,
  NO_CODE_NOTE,
  OTHER_FENCE_NOTE,
  ROOT_SYSTEM_PROMPT,
  replFeedbackPrompt,
  rootUserPrompt,
} from "./prompts.js";
import type { FinishReason, ReplHistoryEntry, RlmResult } from "./result.js";
import { RunControl } from "./run-control.js";
import type {
  CellResult,
  Sandbox,
  SandboxDocument,
  SandboxFactory,
  SubCallHandler,
  SubCallRequest,
} from "./sandbox.js";
import {
  type SubCallExecutor,
  type SubCallTask,
  subCallArgumentsHash,
  subContextText,
} from "./sub-call.js";
import type { UsageTracker } from "./usage.js";

/** The services an analysis runs on. */
export interface AnalysisRuntime {
  model: ModelClient;
  sandboxFactory: SandboxFactory;
  journal: Journal;
  /** Carries out sub-calls missing from the journal. Default: in this process. */
  subCalls?: SubCallExecutor;
}

/**
 * A context the machine is told about before it has it: its description (all the first
 * root prompt needs) at once, its sandbox document when the first cell needs it.
 *
 * Why: a worker that must read a large document before the first root call makes the
 * analysis wait for the read and the model in series (measured: ~180 ms at 10 MB, ~1 s
 * at 100 MB before the first root call). Deferred, the read runs while the first root
 * call is in flight (the machine builds its sandbox then, see `whileSandboxWarms`).
 */
export interface DeferredContext {
  /** Exactly what `describeContext` gives for the context, or replays would differ. */
  description: ContextDescription;
  /** Loads the document; the caller owns it (and releases it). */
  loadDocument(): Promise<SandboxDocument>;
}

export interface AnalysisParams {
  /** Stable identity of the analysis: seeds `Date`/`Math.random`, so it must survive resumes. */
  analysisId: string;
  query: string;
  /** The context, or what the machine needs of it until its first cell. */
  context: RlmContext | { deferred: DeferredContext };
  options: EngineOptions;
  runtime: AnalysisRuntime;
  /** 0 for a top-level analysis. */
  depth?: number;
  /** Shared with the parent for nested analyses; created (and owned) otherwise. */
  control?: RunControl;
  /** This analysis's usage; a child of the parent's for nested analyses. */
  usage?: UsageTracker;
  /** A document already loaded by the caller (kept loaded after the analysis). */
  document?: SandboxDocument;
  /** Epoch ms the analysis began, for a resumed analysis (the deadline counts from it). */
  startedAt?: number;
  /**
   * Where the REPL's clock starts (epoch ms): when the analysis began, as every run of it
   * sees it (a resume in another process too). Without it the clock starts at an instant
   * of 2024 derived from the analysis id, the same however often it is rebuilt.
   */
  clockStartMs?: number;
  /**
   * True when no run of this analysis can have journaled anything yet (its job's first
   * start): the machine reads nothing from the journal, not even its first turn. Only a
   * caller that knows it may say so; a wrong `true` makes calls be paid again.
   */
  firstRun?: boolean;
}

/** Where the machine is. Each `step()` moves it by one transition. */
type Phase =
  | { name: "start" }
  | { name: "root_call" }
  | { name: "cells"; blocks: string[]; next: number; results: CellResult[]; textFinal: boolean }
  | { name: "final_prompt" }
  | { name: "done"; result: RlmResult };

export type StepOutcome = { done: false } | { done: true; result: RlmResult };

interface ExecutedCell {
  code: string;
  cellKey: string;
}

/**
 * The RLM iteration loop as a resumable step machine. Every model response and sub-call
 * result is written to the journal before it is used, so running a machine again over
 * the same journal replays the analysis (same REPL state, same answer) without repeating
 * any model call that had completed.
 */
export class AnalysisMachine {
  readonly analysisId: string;
  readonly depth: number;
  private readonly query: string;
  private readonly context: RlmContext | { deferred: DeferredContext };
  private readonly options: EngineOptions;
  private readonly runtime: AnalysisRuntime;
  private readonly journal: Journal;
  private readonly control: RunControl;
  private readonly ownsControl: boolean;
  private readonly usage: UsageTracker;
  private readonly executor: SubCallExecutor;
  private readonly startedAt = Date.now();
  private readonly clockStartMs: number | undefined;

  private phase: Phase = { name: "start" };
  private iteration = 1;
  private readonly messages: ChatMessage[] = [];
  private readonly history: ReplHistoryEntry[] = [];
  /** Cells that ran without losing the isolate, in order: what a rebuild replays. */
  private readonly executedCells: ExecutedCell[] = [];
  private document: SandboxDocument | undefined;
  private readonly ownsDocument: boolean;
  private sandbox: Sandbox | undefined;
  private activeHandler: SubCallHandler | undefined;
  /**
   * True once a root turn was missing from the journal: the machine is past everything
   * an earlier run of this analysis journaled (a run writes root turn k only after every
   * cell of turn k − 1 and their sub-calls ended), so the records it would look up from
   * then on cannot exist, and it stops reading them. A rebuilt sandbox's replay of
   * earlier cells still reads.
   *
   * Why: with a Redis journal each lookup is a round trip on the analysis's critical
   * path, before every root turn, every cell and every sub-call. The cost: if two runs
   * of one analysis overlap (a worker that lost its lock runs on until BullMQ stops it),
   * the later one no longer finds the earlier one's newest answers and may pay for those
   * calls again; `putIfAbsent` still makes both use the same answers.
   */
  private pastJournal = false;
  /** Cell records still being written (see `runNextCell`). */
  private cellWrites: Promise<void> = Promise.resolve();

  constructor(params: AnalysisParams) {
    this.analysisId = params.analysisId;
    this.query = params.query;
    this.context = params.context;
    this.options = params.options;
    this.runtime = params.runtime;
    this.journal = params.runtime.journal;
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
    this.usage = params.usage ?? this.control.usage;
    this.pastJournal = params.firstRun === true;
    this.clockStartMs = params.clockStartMs;
    this.document = params.document;
    this.ownsDocument = params.document === undefined && !isDeferred(params.context);
    this.executor =
      params.runtime.subCalls ??
      new InProcessSubCallExecutor({
        model: params.runtime.model,
        options: params.options,
        control: this.control,
        runNested: (task) => this.runNested(task),
      });
  }

  /** Runs the machine to the end. */
  async run(): Promise<RlmResult> {
    for (;;) {
      const outcome = await this.step();
      if (outcome.done) return outcome.result;
    }
  }

  /** Advances by one transition: a root model call, one code cell, or the final prompt. */
  async step(): Promise<StepOutcome> {
    if (this.phase.name !== "done") {
      try {
        await this.advance();
        // Nothing of the journal is left in flight when the analysis ends.
        if (this.outcome().done) await this.settleCellWrites();
      } catch (error) {
        // The worker could not load the document: the run fails, not the analysis.
        if (error instanceof DocumentLoadError) throw error;
        this.finishWithError(error);
      }
    }
    return this.outcome();
  }

  /**
   * The journal's record at `key`, unless the machine is past the journal (see
   * `pastJournal`); `rebuilding` marks the replay of an earlier cell, which always reads.
   */
  private lookUp(key: string, rebuilding = false): Promise<JournalRecord | undefined> {
    if (this.pastJournal && !rebuilding) return Promise.resolve(undefined);
    return this.journal.get(key);
  }

  /** Keeps a cell record's write going; a failure surfaces at `settleCellWrites`. */
  private deferCellWrite(write: Promise<unknown>): void {
    const previous = this.cellWrites;
    this.cellWrites = Promise.all([previous, write]).then(() => undefined);
    // Awaited later; until then a rejection must not count as unhandled.
    this.cellWrites.catch(() => undefined);
  }

  /** Waits for the cell records still being written; throws if one failed. */
  private async settleCellWrites(): Promise<void> {
    const pending = this.cellWrites;
    this.cellWrites = Promise.resolve();
    await pending;
  }

  /** Whether the machine has finished, and its result if so. */
  outcome(): StepOutcome {
    const phase = this.phase;
    return phase.name === "done" ? { done: true, result: phase.result } : { done: false };
  }

  /** Releases the sandbox (and the document, when this machine loaded it). */
  dispose(): void {
    this.sandbox?.dispose();
    this.sandbox = undefined;
    if (this.ownsDocument) this.document?.release();
    this.document = undefined;
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
          this.iterationInfo(),
          // The configured budgets (a replay must build the same prompt); a nested
          // analysis in this process is told what its parent has left.
          this.ownsControl ? this.options.budgets : this.control.remainingBudgets(),
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
    const record = await this.whileSandboxWarms((sent) =>
      this.callRoot(journalKeys.root(this.iteration), sent),
    );
    this.messages.push({ role: "assistant", content: record.content });
    const parsed = parseResponse(record.content);

    if (parsed.codeBlocks.length > 0) {
      this.phase = {
        name: "cells",
        blocks: parsed.codeBlocks,
        next: 0,
        results: [],
        textFinal: parsed.finalDirective !== undefined,
      };
      return;
    }
    if (parsed.otherFences.length > 0) {
      // Code in a fence that does not run (untagged, python…): the reply is not one
      // without code, so a FINAL in its text is not taken; the model is told why.
      this.messages.push({
        role: "user",
        content: `${OTHER_FENCE_NOTE}\n\n${this.nextIterationNote()}`,
      });
      this.endIteration(0, false);
      this.advanceIteration();
      return;
    }
    if (parsed.finalDirective?.kind === "FINAL") {
      this.endIteration(0, true);
      this.finish("final", parsed.finalDirective.answer);
      return;
    }
    let note = NO_CODE_NOTE;
    if (parsed.finalDirective?.kind === "FINAL_VAR") {
      const sandbox = await this.ensureSandbox();
      const value = await sandbox.readVariable(parsed.finalDirective.name);
      if (value !== undefined) {
        this.endIteration(0, true);
        this.finish("final", value);
        return;
      }
      note = `FINAL_VAR(${parsed.finalDirective.name}): no variable named ${parsed.finalDirective.name} is defined in the REPL. Define it with code first.`;
    }
    this.messages.push({ role: "user", content: `${note}\n\n${this.nextIterationNote()}` });
    this.endIteration(0, false);
    this.advanceIteration();
  }

  private async runNextCell(phase: Extract<Phase, { name: "cells" }>): Promise<void> {
    const block = phase.next;
    const code = phase.blocks[block] ?? "";
    const result = await this.runCell(code, block);
    phase.results.push(result);
    phase.next += 1;

    if (result.final) {
      this.endIteration(phase.results.length, true);
      this.finish("final", result.final.answer);
      return;
    }
    if (this.stopIfControlTripped()) return;
    if (phase.next < phase.blocks.length) return;

    // All blocks ran: feed the outputs back and go to the next iteration.
    const note = phase.textFinal ? FINAL_WITH_CODE_NOTE : undefined;
    const upcoming = this.iteration + 1;
    this.messages.push({
      role: "user",
      content: replFeedbackPrompt(
        phase.results,
        {
          number: Math.min(upcoming, this.options.maxIterations),
          max: this.options.maxIterations,
          depth: this.depth,
        },
        note,
      ),
    });
    this.endIteration(phase.results.length, false);
    this.advanceIteration();
  }

  private async finalPrompt(): Promise<void> {
    if (this.stopIfControlTripped()) return;
    this.messages.push({ role: "user", content: FINAL_ANSWER_PROMPT });
    const record = await this.callRoot(journalKeys.finalPrompt());
    this.messages.push({ role: "assistant", content: record.content });
    const parsed = parseResponse(record.content);
    if (parsed.finalDirective?.kind === "FINAL") {
      this.finish("max_iterations", parsed.finalDirective.answer);
      return;
    }
    if (parsed.finalDirective?.kind === "FINAL_VAR") {
      const sandbox = await this.ensureSandbox();
      // A FINAL_VAR naming nothing: the latest output beats the directive's own text.
      const value = await sandbox.readVariable(parsed.finalDirective.name);
      this.finish("max_iterations", value ?? this.partialAnswer());
      return;
    }
    // Told not to, the model still answered in code: `FINAL(best)` in a block means the
    // value of `best`, which only running the block gives. Its blocks run as cells.
    for (const [block, code] of parsed.codeBlocks.entries()) {
      const result = await this.runCell(code, block);
      if (result.final) {
        this.finish("max_iterations", result.final.answer);
        return;
      }
      if (this.stopIfControlTripped()) return;
    }
    // No directive anywhere: the reply's text is the answer, never its code fences (but
    // the inside of a fence that is not code, when it is all there is).
    this.finish(
      "max_iterations",
      parsed.prose || parsed.otherFences.filter(Boolean).join("\n\n") || this.partialAnswer(),
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
  private async runCell(code: string, block: number): Promise<CellResult> {
    const cellKey = `${this.iteration}.${block}`;
    // A cell that lost its isolate when it first ran is not run again on replay: its
    // outcome (timeouts depend on timing) is taken from the journal, so a resumed
    // analysis follows the same path as the original.
    const journaled = await this.lookUp(journalKeys.cell(this.iteration, block));
    let result: CellResult;
    if (journaled?.kind === "cell" && journaled.sandboxLost) {
      result = fromCellRecord(journaled);
      this.replayBudgetStop(journaled);
    } else {
      const executed = await this.executeCell({ code, cellKey });
      result = executed.result;
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
    const written = this.journal.putIfAbsent(
      journalKeys.cell(this.iteration, block),
      toCellRecord(code, result, this.control.exhausted),
    );
    // A cell that lost its isolate is replayed from this record (its outcome depended on
    // timing): it must be there before anything builds on it. Any other cell is simply
    // run again on replay, so its record is written while the analysis goes on, and
    // waited for before the next root turn is journaled (see `settleCellWrites`).
    if (result.sandboxLost) await written;
    else this.deferCellWrite(written);
    this.history.push({
      iteration: this.iteration,
      code,
      output: result.output,
      ...(result.error === undefined ? {} : { error: result.error }),
      durationMs: result.durationMs,
      subCalls: result.subCalls,
    });
    this.emit({
      type: "cell_end",
      depth: this.depth,
      iteration: this.iteration,
      block,
      durationMs: result.durationMs,
      ...(result.error === undefined ? {} : { error: result.error }),
    });
  }

  /**
   * A root-model turn: from the journal when it was already answered, else from the model
   * (`sent` is told once the request is on its way).
   */
  private async callRoot(key: string, sent?: () => void): Promise<RootCallRecord> {
    const existing = await this.lookUp(key);
    if (existing?.kind === "root") {
      this.usage.recordReplayed({ [existing.model]: existing.usage }, 1);
      return existing;
    }
    this.pastJournal = true;
    this.control.checkBeforeModelCall();
    const messages = this.messages.map((message) => ({ ...message }));
    const call = callModelWithin(this.control, this.runtime.model, {
      model: this.options.rootModel,
      messages,
      signal: this.control.signal,
      ...(this.options.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: this.options.maxOutputTokens }),
    });
    sent?.();
    const response = await call;
    this.usage.record(response.model, response.usage);
    await this.settleCellWrites();
    const record: RootCallRecord = {
      kind: "root",
      content: response.content,
      model: response.model,
      usage: response.usage,
      durationMs: response.durationMs,
    };
    return asRoot(await this.journal.putIfAbsent(key, record));
  }

  private async executeCell(
    cell: ExecutedCell,
  ): Promise<{ result: CellResult; newSubCalls: number }> {
    const sandbox = await this.ensureSandbox();
    const calls = this.cellCalls(cell.cellKey, false);
    this.activeHandler = calls.handler;
    const result = await sandbox.execute({ ...cell, signal: this.control.signal });
    // Sub-calls the code started but did not await finish (and are journaled) before the
    // analysis moves on: none may run during the next model turn or outlive the analysis.
    await calls.drain();
    if (!result.sandboxLost) this.executedCells.push(cell);
    return { result, newSubCalls: calls.misses() };
  }

  /**
   * Runs `turn` (a root model call) while the first sandbox is built, so the isolate and
   * the document copy cost no time on the analysis's critical path: the first cell would
   * otherwise build them after the model has answered. Only for a sandbox with no cells
   * to replay, and only once the turn's request is on its way (`turn` calls `sent`): a
   * turn taken from the journal has no model call to overlap. A failure is left for the
   * first cell to meet (and report) again.
   */
  private async whileSandboxWarms<T>(turn: (sent: () => void) => Promise<T>): Promise<T> {
    if (this.sandbox || this.executedCells.length > 0) return turn(() => undefined);
    let warming: Promise<void> | undefined;
    const sent = () => {
      // In a later phase of the event loop than the request's write: building an isolate
      // and loading the document block this thread a while. Why not at once: the turn
      // first looks itself up in the journal, and on a Redis journal the warming then ran
      // before the request left and held it back (measured: 3.4 ms in a queue worker).
      warming ??= new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.ensureSandbox())
        .then(
          () => undefined,
          () => undefined,
        );
    };
    try {
      return await turn(sent);
    } finally {
      // A step leaves nothing running behind it.
      await warming;
    }
  }

  /**
   * The sandbox, rebuilt when missing or lost: a new isolate gets the document and
   * replays every earlier cell with sub-call answers from the journal.
   */
  private async ensureSandbox(): Promise<Sandbox> {
    if (this.sandbox && !this.sandbox.disposed) return this.sandbox;
    this.sandbox?.dispose();
    // Loading may take long (a large deferred document): nothing is loaded or built for a
    // run that ended meanwhile (cancelled, or past a budget: the signal's reason says).
    this.control.signal.throwIfAborted();
    this.document ??= isDeferred(this.context)
      ? await loadDeferred(this.context.deferred)
      : await this.runtime.sandboxFactory.loadDocument(this.context);
    this.control.signal.throwIfAborted();
    const sandbox = await this.runtime.sandboxFactory.create({
      document: this.document,
      seed: this.analysisId,
      ...(this.clockStartMs === undefined ? {} : { clockStartMs: this.clockStartMs }),
      limits: this.options.limits,
      onSubCall: (request) => this.dispatchSubCall(request),
    });
    this.sandbox = sandbox;
    for (const cell of this.executedCells) {
      // Replaying for a rebuild: these calls were counted when they first ran.
      const calls = this.cellCalls(cell.cellKey, true);
      this.activeHandler = calls.handler;
      await sandbox.execute(cell);
      await calls.drain();
    }
    return sandbox;
  }

  private dispatchSubCall(request: SubCallRequest): Promise<string> {
    if (!this.activeHandler) return Promise.reject(new Error("no cell is running"));
    return this.activeHandler(request);
  }

  /**
   * The `recursiveLm` implementation of one cell: journal first, then the executor.
   * `rebuilding` marks the replay of an earlier cell into a new isolate: its journaled
   * calls were counted (budgets, usage, progress) when they first ran, so not again.
   * `drain` waits for the calls still in flight.
   */
  private cellCalls(
    cellKey: string,
    rebuilding: boolean,
  ): { handler: SubCallHandler; drain: () => Promise<void>; misses: () => number } {
    const occurrences = new Map<string, number>();
    const inFlight = new Set<Promise<string>>();
    let misses = 0;
    const handle = async (request: SubCallRequest): Promise<string> => {
      // Each call goes on in a task of its own. The sandbox hands over a burst of calls
      // (a Promise.all over chunks) in one go, and node writes a request to its socket
      // only between tasks: without this, the first model request of a fan-out would
      // leave only once every call of the burst had been prepared.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Stopped meanwhile (a budget spent by an earlier answer): no call is started.
      if (!rebuilding) this.control.signal.throwIfAborted();
      const argumentsHash = subCallArgumentsHash(request.query, request.context);
      const occurrence = occurrences.get(argumentsHash) ?? 0;
      occurrences.set(argumentsHash, occurrence + 1);
      const key = journalKeys.subCall(cellKey, argumentsHash, occurrence);
      const startedAt = Date.now();
      const existing = await this.lookUp(key, rebuilding);
      if (rebuilding && existing?.kind === "sub") return answerOf(existing);
      this.control.reserveSubCall();
      const contextChars = subContextText(request.context)?.length ?? 0;
      this.emit({
        type: "subcall_start",
        depth: this.depth,
        id: key,
        query: request.query,
        contextChars,
        replayed: existing?.kind === "sub",
      });
      let record: SubCallRecord;
      let replayed = false;
      if (existing?.kind === "sub") {
        record = existing;
        replayed = true;
        this.usage.recordReplayed(existing.byModel, existing.calls);
      } else {
        misses += 1;
        const release = this.control.holdSubContext(contextChars);
        try {
          const task: SubCallTask = {
            key,
            query: request.query,
            context: request.context,
            ...(request.documentRange ? { documentRange: request.documentRange } : {}),
            depth: this.depth,
            nested: this.depth + 1 < this.options.maxDepth,
            argumentsHash,
            usage: this.usage,
            remainingBudgets: this.control.remainingBudgets(),
            signal: this.control.signal,
          };
          const executed = await this.executor.execute(task);
          record = this.executor.journaled?.(task, executed)
            ? executed
            : asSub(await this.journal.putIfAbsent(key, executed));
          // Its usage is counted now: a spent token or cost budget stops the rest of the
          // fan-out here (through the queue, no other check sees sub-calls' spend).
          this.control.stopIfSpent();
        } finally {
          release();
        }
      }
      this.emit({
        type: "subcall_end",
        depth: this.depth,
        id: key,
        durationMs: Date.now() - startedAt,
        replayed,
        ...(record.error === undefined ? {} : { error: record.error.message }),
      });
      return answerOf(record);
    };
    const handler: SubCallHandler = (request) => {
      const call = handle(request);
      inFlight.add(call);
      const forget = () => inFlight.delete(call);
      call.then(forget, forget);
      return call;
    };
    const drain = async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    };
    return { handler, drain, misses: () => misses };
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
      options: this.options,
      runtime: {
        ...this.runtime,
        journal: this.journal.scope(journalKeys.nested(task.key)),
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

  private finish(finishReason: FinishReason, answer: string, error?: RlmError): void {
    const result: RlmResult = {
      answer,
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

  private iterationInfo(): { number: number; max: number; depth: number } {
    return { number: this.iteration, max: this.options.maxIterations, depth: this.depth };
  }

  private nextIterationNote(): string {
    const next = Math.min(this.iteration + 1, this.options.maxIterations);
    return `Iteration ${next} of ${this.options.maxIterations}.`;
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

function fromCellRecord(record: CellRecord): CellResult {
  return {
    output: record.output,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.final === undefined ? {} : { final: record.final }),
    durationMs: record.durationMs,
    subCalls: record.subCalls,
    sandboxLost: true,
  };
}

function toCellRecord(
  code: string,
  result: CellResult,
  exhausted: BudgetExceededError | undefined,
): CellRecord {
  return {
    // A budget that stopped the cell (its sandbox lost) stops a replay there too.
    ...(result.sandboxLost && exhausted
      ? { budgetStop: { budget: exhausted.budget, message: exhausted.message } }
      : {}),
    kind: "cell",
    code,
    output: result.output,
    ...(result.error === undefined ? {} : { error: result.error }),
    ...(result.final === undefined ? {} : { final: result.final }),
    durationMs: result.durationMs,
    subCalls: result.subCalls,
    sandboxLost: result.sandboxLost,
  };
}

/** A sub-call's answer, or its failure as the Error the sandboxed code sees. */
function answerOf(record: SubCallRecord): string {
  if (record.error) throw new Error(`${record.error.code}: ${record.error.message}`);
  return record.answer ?? "";
}

function asRoot(record: JournalRecord): RootCallRecord {
  if (record.kind !== "root")
    throw new Error(`journal holds a ${record.kind} record where a root call belongs`);
  return record;
}

function asSub(record: JournalRecord): SubCallRecord {
  if (record.kind !== "sub")
    throw new Error(`journal holds a ${record.kind} record where a sub-call belongs`);
  return record;
}

function isAbort(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "cancelled" || (error instanceof Error && error.name === "AbortError");
}

async function loadDeferred(deferred: DeferredContext): Promise<SandboxDocument> {
  try {
    return await deferred.loadDocument();
  } catch (error) {
    throw new DocumentLoadError(error);
  }
}

/**
 * True for a deferred context. A context object of the user's own can never be taken
 * for one: the wrapper's `deferred` holds an object with a `loadDocument` function, and a
 * user's context is JSON (no functions).
 */
function isDeferred(
  context: RlmContext | { deferred: DeferredContext },
): context is { deferred: DeferredContext } {
  if (typeof context !== "object" || context === null || Array.isArray(context)) return false;
  const deferred = (context as { deferred?: unknown }).deferred;
  return (
    typeof deferred === "object" &&
    deferred !== null &&
    typeof (deferred as { loadDocument?: unknown }).loadDocument === "function"
  );
}
