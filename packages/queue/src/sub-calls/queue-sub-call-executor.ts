import { createHash } from "node:crypto";
import {
  failedSubCall,
  type Journal,
  type JournalRecord,
  journalKeys,
  type SubCallExecutor,
  type SubCallRecord,
  type SubCallTask,
  subContextText,
} from "@rlm/core";
import { raceWithAbort } from "@rlm/llm";
import type { Job } from "bullmq";
import type { ContextRef, ContextStore } from "../storage/context-store.js";
import type { DocumentSlices } from "../documents/document-slices.js";
import type { EagerBatches, EagerRun } from "./eager-batches.js";
import type { BatchHeader } from "../llm-job/llm-processor.js";

import {
  JobName,
  type LlmCall,
  type LlmJobData,
  type NestedJobData,
  type SerializableEngineOptions,
} from "../jobs/job-types.js";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";

/** Where the executor's analysis sits in the job tree. */
export interface ExecutorPlacement {
  /** The top analysis (record, journal hash, cancellation). */
  analysisId: string;
  /** Journal scope of the machine this executor serves ("" for the top analysis). */
  journalScope: string;
  options: SerializableEngineOptions;
  subModel: string;
  maxOutputTokens: number | undefined;
}

interface Pending {
  task: SubCallTask;
  resolve: (record: SubCallRecord) => void;
  reject: (error: Error) => void;
}

/** A run's string document: where it is stored, and how to find chunks of it. */
export interface RunDocument {
  ref: ContextRef;
  slices: DocumentSlices;
}

/** How plain model calls are grouped into LM jobs. */
export interface SubCallBatching {
  /** Most calls in one LM job. Default 16. */
  maxCalls: number;
  /**
   * Longest a call waits for others to join its batch, in ms (default 2). A batch also
   * leaves as soon as the sandbox is idle (the cell is awaiting), or when it is full.
   */
  maxWaitMs: number;
}

/** Defaults of `SubCallBatching`. */
export const DEFAULT_SUB_CALL_BATCHING: SubCallBatching = { maxCalls: 16, maxWaitMs: 2 };

/** A plain model call waiting to join an LM job. */
interface Buffered {
  task: SubCallTask;
  issuedAt: number;
  added: () => void;
  failed: (error: Error) => void;
}

/**
 * Turns each `recursiveLm` call missing from the journal into child job work and keeps
 * the call pending until the root job is resumed with its result in the journal. Plain
 * model calls issued together are batched into one `rlm-llm` job (up to
 * `batching.maxCalls`); a nested analysis is a job of its own on `rlm-root`.
 *
 * It also tells the root processor when the analysis is blocked: every outstanding call
 * is an enqueued child and nothing else is moving, so the job can release its worker
 * slot (BullMQ waiting-children) instead of holding it while the children run.
 */
export class QueueSubCallExecutor implements SubCallExecutor {
  private readonly pending = new Map<string, Pending>();
  /** Operations in progress that may still lead to more sub-calls (journal reads, enqueues). */
  private busy = 0;
  private generation = 0;
  private waiters = new Set<() => void>();
  private job: Job | undefined;
  /** Plain calls not yet in a job, and whether a flush is scheduled for them. */
  private buffer: Buffered[] = [];
  private flushScheduled = false;
  /**
   * The eager run the buffered calls were started in, if they were (all of them or none:
   * a batch runs either here from the start or through the queue).
   */
  private bufferRun: EagerRun | undefined;
  /** The run's document once known (see `useDocument`). */
  private document: RunDocument | undefined;
  /** The child job that carries each pending call (for calls whose job was lost). */
  private readonly jobIds = new Map<string, string>();
  /** When each child job's add was confirmed by Redis (ms since the epoch). */
  private readonly jobAddedAt = new Map<string, number>();
  /** Answers handed over by `deliver` since the last `attach`. */
  private deliveredSinceAttach = 0;
  /** Records taken from the journal (read, or announced once written) for pending calls. */
  private readonly fromJournal = new WeakSet<SubCallRecord>();

  constructor(
    private readonly settings: {
      placement: ExecutorPlacement;
      journal: Journal;
      contexts: ContextStore;
      rootQueue: RootQueue;
      llmQueue: LlmQueue;
      /** Resolves once the sandbox has finished the JavaScript it is running now. */
      sandboxIdle: () => Promise<void>;
      /** The run's document, when it is a string: chunks of it travel as byte ranges. */
      document?: RunDocument;
      batching?: SubCallBatching;
      /** Called with the id of each LM job left to the queue, once Redis confirmed its add. */
      onBatchAdded?: (jobId: string) => void;
      /** Starts plain calls in this process as they are issued, when it has call slots free. */
      eager?: Pick<EagerBatches, "hasRoom" | "open">;
    },
  ) {
    this.document = settings.document;
  }

  /**
   * The run's document, once loaded (a run that defers its document learns it at its
   * first cell, before any sub-call): chunks of it travel as byte ranges from then on.
   */
  useDocument(document: RunDocument): void {
    this.document = document;
  }

  /** The job (and its current instance) that children are attached to. */
  attach(job: Job): void {
    this.job = job;
    this.deliveredSinceAttach = 0;
  }

  /** True once this run added a child job (BullMQ must see it end before the parent). */
  get issuedChildren(): boolean {
    return this.jobIds.size > 0;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Wraps a journal so reads count as activity (a read may precede a new sub-call). */
  observe(journal: Journal): Journal {
    return {
      get: (key) => this.track(() => journal.get(key)),
      putIfAbsent: (key, record) => this.track(() => journal.putIfAbsent(key, record)),
      scope: (prefix) => this.observe(journal.scope(prefix)),
    };
  }

  /** A record this executor read from the journal, or was told is in it, is not written again. */
  journaled(_task: SubCallTask, record: SubCallRecord): boolean {
    return this.fromJournal.has(record);
  }

  async execute(task: SubCallTask): Promise<SubCallRecord> {
    // A call issued after the analysis stopped (a budget spent) is not started at all.
    task.signal?.throwIfAborted();
    const promise = new Promise<SubCallRecord>((resolve, reject) => {
      this.pending.set(task.key, { task, resolve, reject });
    });
    // Heard below, or dropped once the analysis stopped: never an unhandled rejection.
    promise.catch(() => undefined);
    try {
      await this.track(() => this.enqueue(task));
    } catch (error) {
      this.pending.delete(task.key);
      throw error;
    }
    let record: SubCallRecord;
    try {
      // Once the analysis stopped (a budget spent mid fan-out, say) its cell must not wait
      // for every LM job of the fan-out to end before the run can finish.
      record = await raceWithAbort(promise, task.signal, (signal) => signal.reason);
    } catch (error) {
      if (task.signal?.aborted) {
        // The run goes on to its end without this answer: it no longer counts as pending.
        this.pending.delete(task.key);
        this.bump();
      }
      throw error;
    }
    task.usage.recordReplayed(record.byModel, record.calls);
    return record;
  }

  /**
   * Resolves pending calls whose results are in the journal (written by the child jobs).
   * Returns how many remain pending.
   */
  async settle(): Promise<number> {
    // All reads at once: ioredis pipelines them, one round trip for the whole fan-out.
    const entries = [...this.pending];
    const records = await Promise.all(entries.map(([key]) => this.settings.journal.get(key)));
    for (const [index, [key, entry]] of entries.entries()) {
      const record = records[index];
      if (record?.kind === "sub" && this.pending.get(key) === entry) {
        this.pending.delete(key);
        this.fromJournal.add(record);
        entry.resolve(record);
      }
    }
    this.bump();
    return this.pending.size;
  }

  /**
   * Takes a result announced in this process (`CallResults`) for a pending call of this
   * run: the cell gets it now instead of when the root job is resumed. `journalKey` is
   * the analysis-wide key (with this run's scope).
   */
  deliver(journalKey: string, record: SubCallRecord): boolean {
    const scope = this.settings.placement.journalScope;
    if (!journalKey.startsWith(scope)) return false;
    const key = journalKey.slice(scope.length);
    const entry = this.pending.get(key);
    if (!entry) return false;
    this.pending.delete(key);
    this.fromJournal.add(record);
    this.deliveredSinceAttach += 1;
    entry.resolve(record);
    this.bump();
    return true;
  }

  /**
   * True when answers reached the run through `deliver` since it was attached to its job
   * instance: their LM jobs may not be completed in BullMQ yet.
   */
  get tookLiveAnswers(): boolean {
    return this.deliveredSinceAttach > 0;
  }

  /**
   * Resolves pending calls whose child job failed for good without writing a result
   * (e.g. it was removed, or a worker lost it past its attempts): the code sees an error.
   */
  failPending(key: string, message: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    entry.resolve(errorRecord(entry.task, "sub_call_failed", message));
    this.bump();
  }

  /** Rejects every pending call (cancellation): the cell sees the error and ends. */
  rejectAll(error: Error): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
    this.bump();
  }

  /** Keys of the calls still waiting for their child job. */
  pendingKeys(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * The child jobs of pending calls that are not running in this process (`activeHere`)
   * although they were added at least `graceMs` ago: queued still, or taken elsewhere.
   * Calls not added yet (joining a batch, or the add not confirmed) do not count.
   */
  jobsAwayFrom(
    activeHere: ReadonlySet<string>,
    graceMs: number,
  ): Array<{ jobId: string; ageMs: number }> {
    const now = Date.now();
    const away = new Map<string, number>();
    for (const key of this.pending.keys()) {
      const jobId = this.jobIds.get(key);
      if (jobId === undefined || activeHere.has(jobId)) continue;
      const addedAt = this.jobAddedAt.get(jobId);
      if (addedAt === undefined) continue;
      const ageMs = now - addedAt;
      if (ageMs >= graceMs) away.set(jobId, ageMs);
    }
    return [...away].map(([jobId, ageMs]) => ({ jobId, ageMs }));
  }

  /**
   * Resolves at the next change (an answer, an enqueue, a journal read: a `bump`) or after
   * `ms`; the waiter is dropped either way.
   */
  nextChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.waiters.add(wake);
    });
  }

  /** The id of the child job that carries a pending call, if it was enqueued here. */
  jobIdOf(key: string): string | undefined {
    return this.jobIds.get(key);
  }

  /**
   * Resolves once the analysis cannot move until a child finishes: some calls pending,
   * no enqueue or journal read in progress, and the sandbox idle with nothing changed
   * meanwhile. `isStopped` ends the wait early (the step finished first).
   */
  async whenBlocked(isStopped: () => boolean): Promise<boolean> {
    while (!isStopped()) {
      if (this.pending.size > 0 && this.busy === 0) {
        const seen = this.generation;
        await this.settings.sandboxIdle();
        // One more turn of the host event loop: promise callbacks of the isolate's
        // last host call settle before we decide.
        await new Promise((resolve) => setImmediate(resolve));
        if (seen === this.generation && this.busy === 0 && this.pending.size > 0) return true;
        continue;
      }
      // Re-check periodically too: a step that finishes does not bump.
      await this.nextChange(50);
    }
    return false;
  }

  private async enqueue(task: SubCallTask): Promise<void> {
    if (!task.nested) return this.buffered(task);
    const job = this.attachedJob();
    const { placement } = this.settings;
    const contextRef = await this.contextRefFor(task);
    const journalKey = placement.journalScope + task.key;
    const jobId = childJobId(placement.analysisId, journalKey);
    const data: NestedJobData = {
      analysisId: placement.analysisId,
      journalScope: placement.journalScope + journalKeys.nested(task.key),
      journalKey,
      query: task.query,
      contextRef,
      // Budgets passed down: the nested analysis gets what is left of its parent's.
      options: { ...placement.options, budgets: task.remainingBudgets },
      depth: task.depth + 1,
    };
    this.jobIds.set(task.key, jobId);
    await this.settings.rootQueue.add(JobName.nested, data, childOptions(job, jobId));
    this.jobAddedAt.set(jobId, Date.now());
  }

  /** Adds a plain call to the next LM job; resolves once that job is in the queue. */
  private buffered(task: SubCallTask): Promise<void> {
    const batching = this.settings.batching ?? DEFAULT_SUB_CALL_BATCHING;
    return new Promise<void>((added, failed) => {
      const issuedAt = performance.timeOrigin + performance.now();
      this.startHere(task, batching.maxCalls);
      this.buffer.push({ task, issuedAt, added, failed });
      if (this.buffer.length >= batching.maxCalls) {
        this.flush(batching.maxCalls);
        return;
      }
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      const flushRest = () => {
        if (!this.flushScheduled) return;
        this.flushScheduled = false;
        this.flush(batching.maxCalls);
      };
      setTimeout(flushRest, batching.maxWaitMs);
      // The cell is awaiting: no more calls are coming from this turn of its code.
      void this.settings
        .sandboxIdle()
        .then(() => setImmediate(flushRest))
        .catch(() => undefined);
    });
  }

  /**
   * Eager dispatch (`EagerBatches`): with a call slot free in this process, the call
   * starts now, in the run of the calls buffered with it, before its LM job exists; the
   * job is added when the batch leaves. A batch started here that meets a full process
   * leaves at once, so the calls after it go through the queue, where another worker
   * can take them.
   */
  private startHere(task: SubCallTask, maxCalls: number): void {
    const eager = this.settings.eager;
    if (!eager) return;
    if (this.bufferRun && !eager.hasRoom()) this.flush(maxCalls);
    if (this.buffer.length === 0 && eager.hasRoom()) {
      this.bufferRun = eager.open(this.batchHeader(task.depth));
    }
    const context = task.context;
    this.bufferRun?.start({
      journalKey: this.settings.placement.journalScope + task.key,
      query: task.query,
      // As the queued path reads it back from the context store: no context is "".
      text: () => subContextText(context) ?? "",
    });
  }

  /** Sends the buffered calls as LM jobs of at most `maxCalls` each. */
  private flush(maxCalls: number): void {
    // A buffer started here never holds more than `maxCalls` (it leaves when full), so
    // its run goes with the one batch it makes.
    let run = this.bufferRun;
    this.bufferRun = undefined;
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, maxCalls);
      this.addBatch(batch, run).then(
        () => {
          for (const entry of batch) entry.added();
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const entry of batch) entry.failed(failure);
        },
      );
      run = undefined;
    }
    if (this.buffer.length === 0) this.flushScheduled = false;
  }

  private async addBatch(batch: Buffered[], run: EagerRun | undefined): Promise<void> {
    const { placement } = this.settings;
    const journalKeys = batch.map((entry) => placement.journalScope + entry.task.key);
    const jobId = batchJobId(placement.analysisId, journalKeys);
    for (const entry of batch) this.jobIds.set(entry.task.key, jobId);
    const eager = run?.seal(jobId);
    let added: Job;
    try {
      const job = this.attachedJob();
      const calls: LlmCall[] = await Promise.all(
        batch.map(async (entry, index) => ({
          journalKey: journalKeys[index] ?? "",
          query: entry.task.query,
          contextRef: await this.contextRefFor(entry.task),
          issuedAt: entry.issuedAt,
        })),
      );
      const data: LlmJobData = { ...this.batchHeader(batch[0]?.task.depth ?? 0), calls };
      added = await this.settings.llmQueue.add(JobName.llm, data, {
        ...childOptions(job, jobId),
        // Delayed until this process takes it as active: no other worker runs its calls.
        ...(eager ? { delay: eager.delayMs } : {}),
      });
    } catch (error) {
      eager?.addFailed();
      throw error;
    }
    this.jobAddedAt.set(jobId, Date.now());
    if (eager) eager.added(added);
    else this.settings.onBatchAdded?.(jobId);
  }

  /** What every call of an LM job of this run shares: the job data without its calls. */
  private batchHeader(depth: number): BatchHeader {
    const { placement } = this.settings;
    return {
      analysisId: placement.analysisId,
      model: placement.subModel,
      ...(placement.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: placement.maxOutputTokens }),
      depth,
    };
  }

  private attachedJob(): Job & { id: string } {
    const job = this.job;
    if (!job?.id) throw new Error("the executor is not attached to a job");
    return job as Job & { id: string };
  }

  /** A byte range of the document when the sub-context is a slice of it, else a stored value. */
  private async contextRefFor(task: SubCallTask): Promise<ContextRef> {
    const { context, documentRange } = task;
    const document = this.document;
    if (document && typeof context === "string") {
      // The sandbox says where the chunk lies when it found it there; else search for it.
      const range = documentRange
        ? document.slices.rangeOf(documentRange.start, documentRange.end)
        : document.slices.locate(context);
      if (range) {
        return this.settings.contexts.slice(
          document.ref,
          range.start,
          range.end,
          context.length,
          range.charStart,
        );
      }
    }
    return this.settings.contexts.put(context ?? "");
  }

  private async track<T>(operation: () => Promise<T>): Promise<T> {
    this.busy += 1;
    this.bump();
    try {
      return await operation();
    } finally {
      this.busy -= 1;
      this.bump();
    }
  }

  private bump(): void {
    this.generation += 1;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** Deterministic child job id: the same call after a resume maps to the same job. */
export function childJobId(analysisId: string, journalKey: string): string {
  const digest = createHash("sha256").update(journalKey).digest("hex").slice(0, 32);
  return `${analysisId}-c${digest}`;
}

/**
 * Deterministic LM job id for a batch: the same calls batched the same way map to the
 * same job, so a root worker that re-sends a batch (after losing its lock, say) does not
 * create a second one.
 */
export function batchJobId(analysisId: string, journalKeys: string[]): string {
  const digest = createHash("sha256").update(journalKeys.join("\n")).digest("hex").slice(0, 32);
  return `${analysisId}-b${digest}`;
}

/** The parent must never be left in waiting-children by a failed child. */
function childOptions(parent: Job & { id: string }, jobId: string) {
  return {
    jobId,
    parent: { id: parent.id, queue: parent.queueQualifiedName },
    ignoreDependencyOnFailure: true,
  } as const;
}

export function errorRecord(task: SubCallTask, code: string, message: string): SubCallRecord {
  return failedSubCall(
    { argumentsHash: task.argumentsHash, query: task.query, contextChars: 0 },
    { code, message },
  );
}

export function isSubRecord(record: JournalRecord | undefined): record is SubCallRecord {
  return record?.kind === "sub";
}
