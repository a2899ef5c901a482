import {
  failedSubCall,
  type Journal,
  journalKeys,
  type SubCallExecutor,
  type SubCallRecord,
  type SubCallTask,
  subContextText,
} from "@rlm/core";
import { raceWithAbort } from "@rlm/llm";
import type { Job } from "bullmq";
import type { AnswerListener, Listening } from "../answers/answer-bus.js";
import type { DocumentSlices } from "../documents/document-slices.js";
import { jobNames } from "../jobs/job-names.js";
import type { NestedJobData, SerializableEngineOptions } from "../jobs/job-types.js";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";
import type { ContextRef, ContextStore } from "../storage/context-store.js";
import type { RedisJournal } from "../storage/redis-journal.js";
import type { CallHeader, CallLane } from "./call-lane.js";
import { childJobId, childOptions } from "./child-jobs.js";
import { OverflowJobs, type SubCallBatching } from "./overflow-jobs.js";
import { PendingCalls } from "./pending-calls.js";

export { DEFAULT_SUB_CALL_BATCHING, type SubCallBatching } from "./overflow-jobs.js";

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

/** A run's string document: where it is stored, and how to find chunks of it. */
export interface RunDocument {
  ref: ContextRef;
  slices: DocumentSlices;
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
  /** Journal reads in progress (a read may precede a new sub-call). */
  #reads = 0;
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
      lost: (key, message) => this.#fail(key, message),
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
    return {
      get: async (key) => {
        this.#reads += 1;
        try {
          return await journal.get(key);
        } finally {
          this.#reads -= 1;
          this.pending.changed();
        }
      },
      putIfAbsent: (key, record) => journal.putIfAbsent(key, record),
      scope: (prefix) => this.observe(journal.scope(prefix)),
    };
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
    const keys = this.pending.inChildren();
    if (keys.length === 0) return;
    const records = await this.#settings.journal.getMany(keys);
    keys.forEach((key, index) => {
      const record = records[index];
      if (record?.kind === "sub") this.pending.resolveJournaled(key, record);
    });
  }

  /** True while the run waits for a nested analysis (a child job on `rlm-root`). */
  get waitsForNested(): boolean {
    return this.pending.children().some((child) => child.nested);
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
    await Promise.all(
      this.pending.children().map(async ({ key, jobId, nested }) => {
        if (jobId === undefined) return;
        const queue = nested ? rootQueue : llmQueue;
        const job = await queue.getJob(jobId);
        const state = job ? await job.getState() : "missing";
        if (state === "completed" || state === "failed" || state === "missing") {
          this.#fail(key, job?.failedReason || `the sub-call job ${jobId} is ${state}`);
        }
      }),
    );
  }

  /** Fails every pending call (cancellation): the cell sees the error and ends. */
  rejectAll(error: Error): void {
    this.pending.rejectAll(error);
  }

  /**
   * Resolves true once the run waits for its sub-calls: some are pending, no journal read
   * is in progress, and the sandbox is idle (the cell awaits them). With `blocked`, only
   * once it cannot move until a child job answers: every pending call is in a child job,
   * and nothing changed while the sandbox went idle. False when `isStopped` (the step
   * finished) first.
   */
  async whenWaiting(isStopped: () => boolean, blocked = false): Promise<boolean> {
    const holds = () =>
      this.pending.size > 0 && this.#reads === 0 && (!blocked || this.pending.onlyChildren);
    while (!isStopped()) {
      if (holds()) {
        const seen = this.pending.generation;
        await this.#settings.sandboxIdle();
        // One more turn of the host event loop: promise callbacks of the isolate's
        // last host call settle before we decide.
        await new Promise((resolve) => setImmediate(resolve));
        if (holds() && (!blocked || seen === this.pending.generation)) return true;
        continue;
      }
      // Re-check periodically too: a step that finishes does not change the calls.
      await this.pending.nextChange(50);
    }
    return false;
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
    });
    if (!here) {
      this.callsQueued += 1;
      this.#overflow.add({ task, issuedAt: performance.timeOrigin + performance.now() });
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
    const { placement, rootQueue } = this.#settings;
    const journalKey = this.#scoped(task.key);
    const jobId = childJobId(placement.analysisId, [journalKey]);
    const data: NestedJobData = {
      analysisId: placement.analysisId,
      journalScope: this.#scoped(journalKeys.nested(task.key)),
      journalKey,
      query: task.query,
      contextRef: await this.#contextRef(task),
      // Budgets passed down: the nested analysis gets what is left of its parent's.
      options: { ...placement.options, budgets: task.remainingBudgets },
      depth: task.depth + 1,
    };
    await this.#listenEverywhere();
    if (this.#settings.rebuilt) {
      const state = await rootQueue.getJobState(jobId);
      if (state === "completed" || state === "failed") {
        const job = await rootQueue.getJob(jobId);
        this.#fail(task.key, job?.failedReason || `the sub-call job ${jobId} is ${state}`);
        return;
      }
    }
    await rootQueue.add(
      jobNames.nested(placement.analysisId, task.query),
      data,
      childOptions(this.#attachedJob(), jobId),
    );
    this.#children += 1;
    this.pending.place(task.key, "child", jobId);
  }

  /** A call whose child ended without an answer: the code gets an error for it. */
  #fail(key: string, message: string): void {
    const task = this.pending.task(key);
    if (!task) return;
    this.pending.resolve(key, lostCall(task, message));
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

  /** A byte range of the document when the sub-context is a slice of it, else a stored value. */
  async #contextRef(task: SubCallTask): Promise<ContextRef> {
    const { context, documentRange } = task;
    const document = this.#document;
    if (document && typeof context === "string") {
      // The sandbox says where the chunk lies when it found it there; else search for it.
      const range = documentRange
        ? document.slices.rangeOf(documentRange.start, documentRange.end)
        : document.slices.locate(context);
      if (range) {
        return this.#settings.contexts.slice(
          document.ref,
          range.start,
          range.end,
          context.length,
          range.charStart,
        );
      }
    }
    return this.#settings.contexts.put(context ?? "");
  }
}

/** The record of a call whose child job ended without an answer in the journal. */
function lostCall(task: SubCallTask, message: string): SubCallRecord {
  return failedSubCall(
    { argumentsHash: task.argumentsHash, query: task.query, contextChars: 0 },
    { code: "sub_call_failed", message },
  );
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
