import { randomUUID } from "node:crypto";
import type { HeldLocks } from "../worker/held-locks.js";
import { setTimeout as sleep } from "node:timers/promises";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { claimDelayedJob } from "./claim-delayed-job.js";
import type {
  BatchCall,
  BatchHeader,
  BatchOutcome,
  LlmBatchRunner,
} from "../llm-job/llm-processor.js";
import type { LlmQueue } from "../jobs/queues.js";

/**
 * A batch whose calls start in this process as they are issued, before its LM job
 * exists; `seal` names the job once the batch is complete.
 */
export interface EagerRun {
  /** Starts a call of the batch now, with its context text at hand. */
  start(call: BatchCall): void;
  /** No more calls: the batch's job, `jobId`, is being added. */
  seal(jobId: string): EagerBatch;
}

/** A sealed eager batch, told what became of its job's add. */
export interface EagerBatch {
  /**
   * How long the job must be delayed when added: no worker takes it meanwhile, and the
   * process that started it takes it as active as soon as the add is confirmed. If that
   * process dies first, the job reaches the wait list when the delay ends, as a job
   * whose worker died reaches it when its lock ends.
   */
  readonly delayMs: number;
  /** The add was confirmed: take the job as active and finish it with the calls' outcome. */
  added(job: Job): void;
  /** The add failed: the calls go on (their answers are journaled) with no job to finish. */
  addFailed(): void;
}

/** What `EagerBatches` needs from its worker process. */
export interface EagerBatchesSettings {
  redis: Redis;
  /** The queue the batches are added to (the root processor's). */
  llmQueue: LlmQueue;
  /** This process's batch runner, shared with its LM worker (one set of call slots). */
  runner: LlmBatchRunner;
  /** Ids of the LM jobs running in this process (see `RootProcessorServices.hold`). */
  jobsHere: Set<string>;
  /** The LM worker's lock duration: the job's lock (its delay is at least this long too). */
  lockDurationMs: number;
  /** The job locks of this process, extended before a large document blocks the thread. */
  heldLocks?: HeldLocks;
  /** Recorded on each job as `processedBy`, as the LM worker records it. */
  workerName: string;
}

/**
 * Shortest delay of an eager batch's job before a worker may take it (see
 * `EagerBatch.delayMs`). Longer than the lock: the delay is scored on this process's
 * clock and promoted on another worker's, so it must outlast clock skew and a stall of
 * this event loop between the add and the claim. The cost is paid only when this process
 * dies in that gap of a few ms: its job then waits this long before another worker runs it.
 */
export const EAGER_CLAIM_DELAY_MS = 10_000;

/** Share of the job's delay a claim whose Redis command fails keeps being tried for. */
const CLAIM_PATIENCE = 0.8;

/**
 * Eager dispatch of LM batches, after Temporal's eager activity execution: while this
 * process has a call slot free, a plain sub-call that a root run of this process issues
 * starts here at once, before its LM job exists, instead of after the job's trip
 * through the wait list (the add, a worker woken on the queue's marker, its fetch: 3 to
 * 5 ms more per call on a busy worker, measured by figure 2, and more for the second
 * batch of a fan-out, as BullMQ fetches one job at a time).
 *
 * The job still exists, as a child of the root job, with the same data: when the batch
 * leaves the root's buffer it is added delayed (no other worker can take it), then
 * moved to active under this process's lock (`claimDelayedJob`), kept locked while its
 * calls run, and completed or failed like any LM job. Bull Board shows it, the root job
 * waits for it as for any child, and a crash leaves it to the stalled-job check (active)
 * or to its delay's end (not yet taken): another worker then runs it, and the journal's
 * memo makes only the calls still missing.
 *
 * Why the calls may start before the add is confirmed: a job with that id can exist
 * already only when two runs of one analysis overlap (a root whose lock was lost), the
 * case where a call may be paid twice anyway (see the journal's `pastJournal`).
 */
export class EagerBatches {
  private readonly finishing = new Set<Promise<void>>();
  private closed = false;
  /** Batches opened here, and those whose job this process took as active. */
  started = 0;
  claimed = 0;

  constructor(private readonly settings: EagerBatchesSettings) {}

  /** True when this process has a call slot free for one more call started here. */
  hasRoom(): boolean {
    const { runner } = this.settings;
    return !this.closed && runner.callsHere < runner.callConcurrency;
  }

  /** Opens a batch whose calls the caller starts as they are issued (check `hasRoom` first). */
  open(header: BatchHeader): EagerRun {
    const { runner, jobsHere } = this.settings;
    const attempts = this.settings.llmQueue.defaultJobOptions.attempts ?? 1;
    const run = runner.open(header, { fresh: true, attemptsLeft: attempts - 1 });
    this.started += 1;
    return {
      start: (call) => run.start(call),
      seal: (jobId) => {
        jobsHere.add(jobId);
        const outcome = run.end();
        // Handled in `added` or `addFailed`; this keeps an early failure from being unheard.
        outcome.catch(() => undefined);
        return {
          delayMs: this.delayMs,
          added: (job) => this.track(this.finish(job, jobId, outcome)),
          addFailed: () =>
            this.track(
              outcome.then(
                () => jobsHere.delete(jobId),
                () => jobsHere.delete(jobId),
              ),
            ),
        };
      },
    };
  }

  /**
   * Stops starting batches and waits for those started to finish their jobs, including
   * batches sealed while it waits (a root run still going flushes its buffer).
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  private track(work: Promise<unknown>): void {
    const done = work.then(
      () => undefined,
      () => undefined,
    );
    this.finishing.add(done);
    void done.finally(() => this.finishing.delete(done));
  }

  private async finish(job: Job, jobId: string, outcome: Promise<BatchOutcome>): Promise<void> {
    const { lockDurationMs } = this.settings;
    const token = `eager-${randomUUID()}`;
    try {
      const claimed = await this.claim(jobId, token);
      if (!claimed) {
        // The job is not ours to finish: it existed already (another run's), or Redis did
        // not answer and the job runs when its delay ends. Its run reads the memo first.
        await outcome.catch(() => undefined);
        return;
      }
      this.claimed += 1;
      const renew = setInterval(() => {
        job.extendLock(token, lockDurationMs).catch(() => undefined);
      }, lockDurationMs / 2);
      renew.unref?.();
      const unhold = this.settings.heldLocks?.hold(job, token);
      try {
        await this.settle(job, token, outcome);
      } finally {
        unhold?.();
        clearInterval(renew);
      }
    } finally {
      this.settings.jobsHere.delete(jobId);
    }
  }

  /** Takes the job as active; a failed try is tried again (the script is idempotent). */
  private async claim(jobId: string, token: string): Promise<boolean> {
    const claim = {
      jobId,
      token,
      lockDurationMs: this.settings.lockDurationMs,
      workerName: this.settings.workerName,
    };
    // Tried again until most of the job's delay is gone: once the delay ends another
    // worker may take the job and pay again for calls still running here.
    const giveUpAt = Date.now() + CLAIM_PATIENCE * this.delayMs;
    for (let wait = 50; ; wait = Math.min(2 * wait, 1_000)) {
      try {
        return await claimDelayedJob(this.settings.redis, this.settings.llmQueue, claim);
      } catch {
        if (Date.now() + wait >= giveUpAt) return false;
        await sleep(wait);
      }
    }
  }

  /** How long an eager batch's job is delayed when added (see `EagerBatch.delayMs`). */
  private get delayMs(): number {
    return Math.max(EAGER_CLAIM_DELAY_MS, this.settings.lockDurationMs);
  }

  /** Finishes the claimed job as the LM worker would have finished it. */
  private async settle(job: Job, token: string, outcome: Promise<BatchOutcome>): Promise<void> {
    let ended: BatchOutcome;
    try {
      ended = await outcome;
    } catch (error) {
      await job.moveToFailed(error instanceof Error ? error : new Error(String(error)), token);
      return;
    }
    if (ended.kind === "done") {
      await job.moveToCompleted(ended.result, token, false);
      return;
    }
    if (ended.kind === "retry") {
      // Retried with the queue's backoff while attempts are left, else failed.
      await job.moveToFailed(ended.error, token);
      return;
    }
    // A 429: the job waits in the delayed set until the provider's pause is over, where
    // no worker takes it (every call admission waits for the pause too). First, while the
    // lock is ours; the queue-wide pause is the queue's (open until this one closes), as
    // the LM worker may be closing already.
    await job.moveToDelayed(Date.now() + ended.ms, token);
    await this.settings.llmQueue.rateLimit(ended.ms).catch(() => undefined);
  }
}
