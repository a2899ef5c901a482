import type { SubCallTask } from "@rlm/core";
import type { Job } from "bullmq";
import { jobNames } from "../jobs/job-names.js";
import type { LlmCall, LlmJobData } from "../jobs/job-types.js";
import type { LlmQueue } from "../jobs/queues.js";
import type { TraceCarrier } from "../observing/job-trace.js";
import type { ContextRef } from "../storage/context-ref.js";
import type { CallHeader } from "./call-lane.js";
import { childJobId, childOptions } from "./child-jobs.js";

/** How the plain calls a run's process has no call slot for are grouped into LM jobs. */
export interface SubCallBatching {
  /**
   * Most calls in one LM job. Default 1: a worker takes a job when it has a call slot
   * free, so a job of several calls could wait in one worker, part-started, while
   * another has slots free; with one call a job, the calls spread over the workers as
   * their slots free up.
   */
  maxCalls: number;
  /**
   * Longest a call waits for others to be added with it, in ms (default 2). The calls
   * also leave as soon as the sandbox is idle (the cell is awaiting).
   */
  maxWaitMs: number;
  /**
   * Most calls held before they are added (default 32): a full buffer leaves at once, as
   * one bulk add (one round trip for all its jobs). Why not wait for the sandbox: a
   * fan-out of 1,000 calls keeps this process busy issuing them for ~100 ms, and the
   * other workers' first calls waited for all of it (measured, N = 1000 with 2 workers:
   * their first wave was taken 40–60 ms after its calls were issued, not ~25 ms); why
   * not one add per call: 950 round trips and scripts where ~30 do.
   */
  maxBuffered: number;
}

/** Defaults of `SubCallBatching`. */
export const DEFAULT_SUB_CALL_BATCHING: SubCallBatching = {
  maxCalls: 1,
  maxWaitMs: 2,
  maxBuffered: 32,
};

/** A plain call waiting to be added to the queue. */
export interface Buffered {
  task: SubCallTask;
  /** When the call left the engine (ms since the epoch, sub-ms). */
  issuedAt: number;
  /** The call's span (jobs are added later, in another context). */
  trace?: TraceCarrier | undefined;
}

/** What {@link OverflowJobs} works with (its run's executor). */
export interface OverflowJobsSettings {
  llmQueue: LlmQueue;
  header: () => CallHeader;
  /** The root job the LM jobs are children of. */
  parent: () => Job;
  contextRef: (task: SubCallTask) => Promise<ContextRef>;
  /** The analysis-wide journal key of a call key of the run. */
  journalKey: (key: string) => string;
  /** Awaited before any job is added (the run listens for answers from elsewhere). */
  beforeAdd: () => Promise<void>;
  /** The calls are in the LM job `jobId` (added now, or by an earlier run and going). */
  added: (batch: Buffered[], jobId: string) => void;
  failed: (batch: Buffered[], error: Error) => void;
  /** A call whose job an earlier run added ended without its answer in the journal. */
  lost: (key: string, message: string) => void;
  /** True for a rebuilt run: its jobs may exist already (see the executor). */
  rebuilt: boolean;
  sandboxIdle: () => Promise<void>;
  batching?: SubCallBatching;
}

interface PreparedJob {
  batch: Buffered[];
  jobId: string;
  name: string;
  data: LlmJobData;
}

/** Adds a run's calls that have no call slot in its process to `rlm-llm`. */
export class OverflowJobs {
  #buffer: Buffered[] = [];
  #scheduled = false;

  constructor(private readonly settings: OverflowJobsSettings) {}

  add(entry: Buffered): void {
    this.#buffer.push(entry);
    if (this.#buffer.length >= Math.max(this.#batching.maxBuffered, this.#batching.maxCalls)) {
      this.#flush();
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    const flush = () => {
      if (this.#scheduled) this.#flush();
    };
    setTimeout(flush, this.#batching.maxWaitMs);
    // The cell is awaiting: no more calls are coming from this turn of its code.
    void this.settings
      .sandboxIdle()
      .then(() => setImmediate(flush))
      .catch(() => undefined);
  }

  get #batching(): SubCallBatching {
    return this.settings.batching ?? DEFAULT_SUB_CALL_BATCHING;
  }

  #flush(): void {
    this.#scheduled = false;
    const entries = this.#buffer.splice(0);
    if (entries.length === 0) return;
    const batches: Buffered[][] = [];
    for (let index = 0; index < entries.length; index += this.#batching.maxCalls) {
      batches.push(entries.slice(index, index + this.#batching.maxCalls));
    }
    this.#addJobs(batches).catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const batch of batches) this.settings.failed(batch, failure);
    });
  }

  async #addJobs(batches: Buffered[][]): Promise<void> {
    const { settings } = this;
    await settings.beforeAdd();
    const header = settings.header();
    const parent = settings.parent();
    const jobs = await Promise.all(
      batches.map(async (batch): Promise<PreparedJob> => {
        const calls: LlmCall[] = await Promise.all(
          batch.map(async (entry) => ({
            journalKey: settings.journalKey(entry.task.key),
            query: entry.task.query,
            contextRef: await settings.contextRef(entry.task),
            issuedAt: entry.issuedAt,
            ...(entry.task.schema ? { schema: entry.task.schema } : {}),
            ...(entry.trace ? { trace: entry.trace } : {}),
          })),
        );
        const jobId = childJobId(
          header.analysisId,
          calls.map((call) => call.journalKey),
        );
        const name = jobNames.calls(header.analysisId, calls);
        return { batch, jobId, name, data: { ...header, calls } };
      }),
    );
    const toAdd = settings.rebuilt ? await this.#notEnded(jobs) : jobs;
    const only = toAdd.length === 1 ? toAdd[0] : undefined;
    if (only) await settings.llmQueue.add(only.name, only.data, childOptions(parent, only.jobId));
    else if (toAdd.length > 1) {
      await settings.llmQueue.addBulk(
        toAdd.map((job) => ({
          name: job.name,
          data: job.data,
          opts: childOptions(parent, job.jobId),
        })),
      );
    }
    for (const job of toAdd) settings.added(job.batch, job.jobId);
  }

  /**
   * The jobs to add (or wait for) of a rebuilt run: a job its earlier run added that has
   * ended (completed or failed for good) without the answers in the journal will not
   * bring them, so its calls are answered with an error instead (a rebuilt run waited for
   * its earlier children before it replayed: their answers are in the journal).
   */
  async #notEnded(jobs: PreparedJob[]): Promise<PreparedJob[]> {
    const { llmQueue } = this.settings;
    const states = await Promise.all(jobs.map((job) => llmQueue.getJobState(job.jobId)));
    const going: PreparedJob[] = [];
    for (const [index, job] of jobs.entries()) {
      const state = states[index];
      if (state !== "completed" && state !== "failed") {
        going.push(job);
        continue;
      }
      const message = `the sub-call job ${job.jobId} is ${state} without an answer`;
      for (const entry of job.batch) this.settings.lost(entry.task.key, message);
    }
    return going;
  }
}
