import { DocumentLoadError } from "../errors.js";
import { journalKeys } from "../journal.js";
import type { EngineOptions } from "../options.js";
import { parseResponse } from "../parse-response.js";
import { FINAL_ANSWER_PROMPT } from "../prompts.js";
import type { RlmResult } from "../result.js";
import { RunControl } from "../run-control.js";
import type { UsageTracker } from "../usage.js";
import { AnalysisOutcome } from "./analysis-outcome.js";
import { AnalysisProgress } from "./analysis-progress.js";
import type { AnalysisParams } from "./analysis-params.js";
import { CellRuns } from "./cell-runs.js";
import { JournalPolicy } from "./journal-policy.js";
import { openingMessages } from "./opening-prompt.js";
import { type Phase, type ReplyPlan, planReply } from "./reply-plan.js";
import { RootTurns } from "./root-turns.js";
import { sandboxSessionFor } from "./sandbox-wiring.js";
import type { SandboxSession } from "./sandbox-session.js";
import type { LiveSandbox, SessionQuestion } from "./session-prelude.js";
import { Transcript } from "./transcript.js";
import { TurnFeedback } from "./turn-feedback.js";
import { failSpan, inSpan, SpanNames, setUsageAttributes } from "../tracing.js";

export type StepOutcome = { done: false } | { done: true; result: RlmResult };

/**
 * The RLM iteration loop as a resumable step machine. Every model response and sub-call
 * result is written to the journal before it is used, so running a machine again over
 * the same journal replays the analysis (same REPL state, same answer) without repeating
 * any model call that had completed.
 *
 * The machine owns the phases (a root turn, its cells one by one, the last request for an
 * answer); its collaborators own the rest: {@link JournalPolicy} (what is read and when
 * writes settle), `SubCallRouter` (journal, identical calls, executor; made in
 * sandbox-wiring.ts), {@link SandboxSession} (the REPL and its rebuilds),
 * {@link RootTurns} (a root turn from the journal or the model), {@link CellRuns} (a cell
 * from the journal or the REPL, and its record), {@link AnalysisOutcome} (the answer
 * taken, or the stop, as the result).
 */
export class AnalysisMachine {
  readonly analysisId: string;
  readonly depth: number;
  private readonly params: AnalysisParams;
  private readonly options: EngineOptions;
  private readonly journal: JournalPolicy;
  private readonly control: RunControl;
  private readonly ownsControl: boolean;
  private readonly usage: UsageTracker;
  private readonly session: SandboxSession;
  private readonly transcript = new Transcript();
  private readonly progress: AnalysisProgress;
  private readonly rootTurns: RootTurns;
  private readonly cells: CellRuns;
  private readonly answers: AnalysisOutcome;

  private phase: Phase = { name: "start" };

  constructor(params: AnalysisParams) {
    this.analysisId = params.analysisId;
    this.params = params;
    this.options = params.options;
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
    const startedAt = params.startedAt ?? Date.now();
    this.usage = params.usage ?? this.control.usage;
    this.journal = new JournalPolicy(params.runtime.journal, params.firstRun === true);
    this.progress = new AnalysisProgress(this.analysisId, this.depth, this.options, this.usage);
    const { journal, control, usage, transcript, progress } = this;
    this.session = sandboxSessionFor({
      params,
      journal,
      control,
      usage,
      progress,
      createNested: (nested) => new AnalysisMachine(nested),
    });
    // What the root turns and the cells alike need of the analysis.
    const shared = { journal, control, transcript, progress };
    this.rootTurns = new RootTurns({
      ...shared,
      analysisId: this.analysisId,
      model: params.runtime.model,
      options: this.options,
      usage,
    });
    this.cells = new CellRuns({
      ...shared,
      session: this.session,
      cellKeyPrefix: params.session ? `q${params.session.position}/` : "",
    });
    this.answers = new AnalysisOutcome({
      options: this.options,
      control,
      usage,
      startedAt,
      transcript,
      done: (result) => {
        this.phase = { name: "done", result };
      },
    });
  }

  /** Runs the machine to the end (in one span: see `SpanNames.analysis`). */
  async run(): Promise<RlmResult> {
    return inSpan(SpanNames.analysis, this.progress.spanAttributes(), async (span) => {
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
        this.answers.finishWithError(error);
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
      query: this.params.query,
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
    this.cells.release();
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
    // The configured budgets (a replay must build the same prompt); a nested analysis in
    // this process is told what its parent has left.
    const budgets = this.ownsControl ? this.options.budgets : this.control.remainingBudgets();
    this.transcript.messages.push(...openingMessages(this.params, this.depth, budgets));
    this.phase = { name: "root_call" };
  }

  private async rootCall(): Promise<void> {
    if (this.answers.stopIfControlTripped()) return;
    this.progress.iterationStarted(this.transcript.iteration);
    const record = await this.session.whileWarming((sent) =>
      this.rootTurns.call(journalKeys.root(this.transcript.iteration), sent),
    );
    this.transcript.messages.push({ role: "assistant", content: record.content });
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
      case "answer":
        return this.takeAnswer(plan.answer);
      case "variable": {
        const value = await this.session.readVariable(plan.name);
        if (value !== undefined) return this.takeAnswer(value);
        return this.nextTurn([plan.missingNote(await this.session.variableNames())]);
      }
      case "note":
        return this.nextTurn([plan.note]);
    }
  }

  /** A text FINAL's answer: taken, or refused and the refusal told in a new turn. */
  private takeAnswer(answer: string): void {
    const refused = this.answers.accept(answer);
    if (refused === undefined) return this.endIteration(0, true);
    return this.nextTurn([refused]);
  }

  private async runNextCell(phase: Extract<Phase, { name: "cells" }>): Promise<void> {
    const block = phase.next;
    const code = phase.blocks[block] ?? "";
    const result = await this.cells.run(code, block);
    phase.next += 1;
    const refused = result.final ? this.answers.accept(result.final.answer) : undefined;
    phase.feedback.add(result, refused);
    if (result.final && refused === undefined) return this.endIteration(phase.next, true);
    if (this.answers.stopIfControlTripped()) return;
    if (phase.next < phase.blocks.length) return;
    // All blocks ran: feed the outputs back and go to the next iteration.
    const upcoming = Math.min(this.transcript.iteration + 1, this.options.maxIterations);
    this.transcript.messages.push({
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
    if (this.answers.stopIfControlTripped()) return;
    this.transcript.messages.push({ role: "user", content: FINAL_ANSWER_PROMPT });
    const record = await this.rootTurns.call(journalKeys.finalPrompt());
    this.transcript.messages.push({ role: "assistant", content: record.content });
    const parsed = parseResponse(record.content);
    if (parsed.finalDirective?.kind === "FINAL") {
      return this.answers.finishLast(parsed.finalDirective.answer);
    }
    if (parsed.finalDirective?.kind === "FINAL_VAR") {
      // A FINAL_VAR naming nothing: the latest output beats the directive's own text.
      const value = await this.session.readVariable(parsed.finalDirective.name);
      return this.answers.finishLast(value ?? this.answers.partialAnswer());
    }
    // Told not to, the model still answered in code: `FINAL(best)` in a block means the
    // value of `best`, which only running the block gives. Its blocks run as cells.
    for (const [block, code] of parsed.codeBlocks.entries()) {
      const result = await this.cells.run(code, block);
      if (result.final) return this.answers.finishLast(result.final.answer);
      if (this.answers.stopIfControlTripped()) return;
    }
    // No directive anywhere: the reply's text is the answer, never its code fences (but
    // the inside of a fence that is not code, when it is all there is).
    const fences = parsed.otherFences.map((fence) => fence.code).filter(Boolean);
    this.answers.finishLast(parsed.prose || fences.join("\n\n") || this.answers.partialAnswer());
  }

  /** The reply led nowhere yet: the model is told why, and the next turn begins. */
  private nextTurn(notes: string[]): void {
    const next = Math.min(this.transcript.iteration + 1, this.options.maxIterations);
    this.transcript.messages.push({
      role: "user",
      content: [...notes, `Iteration ${next} of ${this.options.maxIterations}.`].join("\n\n"),
    });
    this.endIteration(0, false);
    this.advanceIteration();
  }

  private endIteration(cells: number, final: boolean): void {
    this.progress.iterationEnded(this.transcript.iteration, cells, final);
  }

  private advanceIteration(): void {
    this.transcript.iteration += 1;
    this.phase =
      this.transcript.iteration > this.options.maxIterations
        ? { name: "final_prompt" }
        : { name: "root_call" };
  }
}
