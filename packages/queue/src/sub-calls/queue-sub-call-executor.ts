import {
  type Journal,
  type SubCallExecutor,
  type SubCallRecord,
  type SubCallTask,
  subContextText,
} from "@rlm/core";
import { raceWithAbort } from "@rlm/llm";
import type { Job } from "bullmq";
import type { AnswerListener, Listening } from "../answers/answer-bus.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";
import { traceCarrier } from "../observing/job-trace.js";
import type { ContextRef, ContextStore } from "../storage/context-store.js";
import type { RedisJournal } from "../storage/redis-journal.js";
import type { CallHeader, CallLane } from "./call-lane.js";
import { type RunDocument, contextRefFor } from "./call-contexts.js";
import { endedWithoutAnswer } from "./child-jobs.js";
import { addNestedJob } from "./nested-jobs.js";
import { OverflowJobs, type SubCallBatching } from "./overflow-jobs.js";
import { PendingCalls } from "./pending-calls.js";

export type { RunDocument } from "./call-contexts.js";

/** Where the executor's analysis sits in the job tree. */
export interface ExecutorPlacement {
  /** The top analysis (record, journal hash, cancellation). */
  analysisId: string;
  /** Journal scope of the machine this executor serves ("" for the top analysis). */
  journalScope: string;
  options: SerializableEngineOptions;
  subModel: string;
  maxOutputTokens: number | undefined;
  /** Depth of the run (0 for the top analysis). */
  depth: number;
}

/** What a {@link QueueSubCallExecutor} works with. */
export interface QueueSubCallExecutorSettings {
  placement: ExecutorPlacement;
  /** The run's journal (in its scope): read for answers that did not arrive live. */
  journal: RedisJournal;
  contexts: ContextStore;
  rootQueue: RootQueue;
  llmQueue: LlmQueue;
  /** Plain calls in this process while it has call slots free, and the live answers. */
  lane: CallLane;
  /** Resolves once the sandbox has finished the JavaScript it is running now. */
  sandboxIdle: () => Promise<void>;
  /** How calls without a slot here are grouped into LM jobs. */
  batching?: SubCallBatching;
  /**
   * True for a run rebuilt after an earlier run of its job (a crash, a resume): a child
   * job it adds may exist already, ended without an answer in the journal.
   */
  rebuilt: boolean;
}

/**
 * Carries out a run's `recursiveLm` calls that the journal lacks: a plain call in this
 * process when it has a call slot free, else in an LM job for any worker (`CallLane`); a
 * nested analysis as a job of its own on `rlm-root`. Every answer reaches the call live
 * (this process, or the analysis's Redis channel) once journaled; one whose message was
 * lost is read from the journal (`checkJournal`). It also tells the root processor when
 * the run is blocked on child jobs only, so the job can give its slot up if needed.
 */
export class QueueSubCallExecutor implements SubCallExecutor, AnswerListener {
  readonly pending = new PendingCalls();
  readonly #settings: QueueSubCallExecutorSettings;
  readonly #listening: Listening;
  readonly #overflow: OverflowJobs;
  #fromEverywhere: Promise<void> | undefined;
  #job: Job | undefined;
  #document: RunDocument | undefined;
  /** Child jobs added (LM jobs and nested analyses). */
  #children = 0;
  /** Calls made in this process, and sent to the queue (for statistics). */
  callsHere = 0;
  callsQueued = 0;

  constructor(settings: QueueSubCallExecutorSettings) {
    this.#settings = settings;
    this.#listening = settings.lane.listen(settings.placement.analysisId, this);
    this.#overflow = new OverflowJobs({
      llmQueue: settings.llmQueue,
      header: () => this.#header(),
      parent: () => this.#attachedJob(),
      contextRef: (task) => this.#contextRef(task),
      journalKey: (key) => this.#scoped(key),
      beforeAdd: () => this.#listenEverywhere(),
      added: (batch, jobId) => {
        this.#children += 1;
        for (const entry of batch) this.pending.place(entry.task.key, "child", jobId);
      },
      failed: (batch, error) => {
        for (const entry of batch) this.pending.reject(entry.task.key, error);
      },
      lost: (key, message) => this.pending.fail(key, message),
      rebuilt: settings.rebuilt,
      sandboxIdle: settings.sandboxIdle,
      ...(settings.batching ? { batching: settings.batching } : {}),
    });
  }

  /**
   * The run's document, once loaded (a run that defers its document learns it at its
   * first cell, before any sub-call): chunks of it travel as byte ranges from then on.
   */
  useDocument(document: RunDocument): void {
    this.#document = document;
  }

  /** The job (and its current instance) that children are attached to. */
  attach(job: Job): void {
    this.#job = job;
  }

  /** True once this run added a child job (BullMQ must see it end before the parent). */
  get issuedChildren(): boolean {
    return this.#children > 0;
  }

  /** Wraps a journal so reads count as activity (a read may precede a new sub-call). */
  observe(journal: Journal): Journal {
    return this.pending.observe(journal);
  }

  /** A record taken from the journal is not written again by the machine. */
  journaled(_task: SubCallTask, record: SubCallRecord): boolean {
    return this.pending.journaled(record);
  }

  async execute(task: SubCallTask): Promise<SubCallRecord> {
    // A call issued after the analysis stopped (a budget spent) is not started at all.
    task.signal?.throwIfAborted();
    const answer = this.pending.add(task);
    if (task.nested) {
      this.#addNested(task).catch((error: unknown) =>
        this.pending.reject(task.key, asError(error)),
      );
    } else {
      this.#dispatchPlain(task);
    }
    let record: SubCallRecord;
    try {
      // Once the analysis stopped (a budget spent mid fan-out, say) its cell must not wait
      // for every call of the fan-out to end before the run can finish.
      record = await raceWithAbort(answer, task.signal, (signal) => signal.reason);
    } catch (error) {
      // The run goes on to its end without this answer: it no longer counts as pending.
      if (task.signal?.aborted) this.pending.reject(task.key, asError(error));
      throw error;
    }
    task.usage.recordReplayed(record.byModel, record.calls);
    return record;
  }

  /** True while the call `journalKey` (analysis-wide) is pending here. */
  wants(journalKey: string): boolean {
    const key = this.#unscoped(journalKey);
    return key !== undefined && this.pending.has(key);
  }

  /** Takes a journaled answer that arrived live; true when it was pending here. */
  deliver(journalKey: string, record: SubCallRecord): boolean {
    const key = this.#unscoped(journalKey);
    return key !== undefined && this.pending.resolveJournaled(key, record);
  }

  /**
   * Reads the journal for the calls pending in child jobs: an answer whose live message
   * was lost (announced before this run listened, a reconnect) is taken from there.
   */
  async checkJournal(): Promise<void> {
    const keys = this.pending.children().map((child) => child.key);
    if (keys.length === 0) return;
    const records = await this.#settings.journal.getMany(keys);
    keys.forEach((key, index) => {
      const record = records[index];
      if (record?.kind === "sub") this.pending.resolveJournaled(key, record);
    });
  }

  /** True while the run waits for a nested analysis (a child job on `rlm-root`). */
  get waitsForNested(): boolean {
    return this.pending.nestedInChildren;
  }

  /**
   * Once BullMQ has seen every child job of the run end (`moveToWaitingChildren` found
   * none pending), reads the journal for their answers, and answers the calls whose job
   * ended without one (failed for good, removed) with an error the code sees, instead of
   * waiting for ever.
   */
  async childrenEnded(): Promise<void> {
    await this.checkJournal();
    const { llmQueue, rootQueue } = this.#settings;
    const ended = await endedWithoutAnswer(this.pending.children(), { llmQueue, rootQueue });
    for (const { key, message } of ended) this.pending.fail(key, message);
  }

  /** Fails every pending call (cancellation): the cell sees the error and ends. */
  rejectAll(error: Error): void {
    this.pending.rejectAll(error);
  }

  /**
   * Resolves true once the run waits for its sub-calls (the sandbox is idle); with
   * `blocked`, only once it cannot move until a child job answers (see
   * `PendingCalls.whenWaiting`). False when `isStopped` (the step finished) first.
   */
  whenWaiting(isStopped: () => boolean, blocked = false): Promise<boolean> {
    return this.pending.whenWaiting(this.#settings.sandboxIdle, isStopped, blocked);
  }

  /** Stops listening for answers (the run is over here). */
  close(): void {
    this.#listening.stop();
  }

  #dispatchPlain(task: SubCallTask): void {
    const context = task.context;
    const here = this.#settings.lane.runHere(this.#header(), {
      journalKey: this.#scoped(task.key),
      query: task.query,
      // As the queued path reads it back from the context store: no context is "".
      text: () => subContextText(context) ?? "",
      ...(task.schema ? { schema: task.schema } : {}),
    });
    if (!here) {
      this.callsQueued += 1;
      this.#overflow.add({
        task,
        issuedAt: performance.timeOrigin + performance.now(),
        trace: traceCarrier(),
      });
      return;
    }
    this.callsHere += 1;
    this.pending.place(task.key, "here");
    here.then(
      (record) => this.pending.resolveJournaled(task.key, record),
      (error: unknown) => this.pending.reject(task.key, asError(error)),
    );
  }

  async #addNested(task: SubCallTask): Promise<void> {
    const { placement, rootQueue, rebuilt } = this.#settings;
    const trace = traceCarrier();
    const contextRef = await this.#contextRef(task);
    await this.#listenEverywhere();
    const added = await addNestedJob(
      { ...placement, job: this.#attachedJob(), rootQueue, rebuilt },
      task,
      contextRef,
      trace,
    );
    if ("ended" in added) {
      this.pending.fail(task.key, added.ended);
      return;
    }
    this.#children += 1;
    this.pending.place(task.key, "child", added.jobId);
  }

  /**
   * Starts listening for the answers of other processes too: a run that may send calls
   * elsewhere calls it early (while its first root call is in flight), so the first child
   * job of a fan-out does not wait for the subscription.
   */
  listenEverywhere(): void {
    this.#listenEverywhere().catch(() => undefined);
  }

  /** Listens for answers from other processes too (once, before the first child job). */
  #listenEverywhere(): Promise<void> {
    this.#fromEverywhere ??= this.#listening.fromEverywhere();
    return this.#fromEverywhere;
  }

  #header(): CallHeader {
    const { placement } = this.#settings;
    return {
      analysisId: placement.analysisId,
      model: placement.subModel,
      ...(placement.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: placement.maxOutputTokens }),
      depth: placement.depth,
    };
  }

  #scoped(key: string): string {
    return this.#settings.placement.journalScope + key;
  }

  #unscoped(journalKey: string): string | undefined {
    const scope = this.#settings.placement.journalScope;
    return journalKey.startsWith(scope) ? journalKey.slice(scope.length) : undefined;
  }

  #attachedJob(): Job {
    if (!this.#job?.id) throw new Error("the executor is not attached to a job");
    return this.#job;
  }

  #contextRef(task: SubCallTask): Promise<ContextRef> {
    return contextRefFor(this.#settings.contexts, this.#document, task);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
