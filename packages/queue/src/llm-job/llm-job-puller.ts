import { Job as JobClass, type Job, type Worker } from "bullmq";
import { setTimeout as sleep } from "node:timers/promises";
import type { LlmJobData, LlmJobResult } from "../jobs/job-types.js";
import { type LlmJobServices, runLlmJob } from "./run-llm-job.js";

/** What {@link LlmJobPuller} needs from its worker process. */
export interface LlmJobPullerSettings extends LlmJobServices {
  /** A BullMQ worker on `rlm-llm` made without a processor: jobs are fetched here. */
  worker: Worker<LlmJobData, LlmJobResult>;
  /** Holds the lock of each job in progress (see `HeldLocks`); returns the release. */
  holdLock?: (job: Job, token: string) => () => void;
  /** The jobs' lock duration: locks are renewed every half of it. */
  lockDurationMs: number;
}

/** How long to wait before asking again after a fetch that failed or came back at once. */
const FETCH_RETRY_MS = 50;

/** Most jobs asked for at once. */
const PARALLEL_FETCHES = 16;

/**
 * Takes LM jobs from `rlm-llm` only while this process has a call slot free (BullMQ's
 * manual fetching: `getNextJob`, then the job is completed or failed here with its
 * token), so a worker never holds calls it cannot start while another could. Each call
 * is journaled before it counts; the journal is also the memo a re-run job reads, so a
 * job retried after a crash or a failure makes only the calls it lacks.
 *
 * Why not BullMQ's own loop: its concurrency counts jobs, not this process's call slots,
 * which the calls its root runs start here also use; it would take jobs whose calls then
 * wait here while another worker has slots free (measured: 2 workers were 1.36× slower
 * than a bare client on one fan-out, 1 worker 1.08×).
 */
export class LlmJobPuller {
  readonly #inProgress = new Set<Promise<void>>();
  readonly #locks = new Map<string, string>();
  #closing = false;
  #wake: () => void = () => undefined;
  #renewal: ReturnType<typeof setInterval> | undefined;
  #loop: Promise<void> | undefined;
  #nextToken = 0;
  /** Blocking fetches in a row that came back at once with nothing. */
  #quickEmpties = 0;
  /** Jobs taken, and those of them taken with a completion (for statistics). */
  taken = 0;
  chained = 0;

  constructor(private readonly settings: LlmJobPullerSettings) {}

  /** Starts fetching, the stalled-job check and the renewal of the locks held. */
  start(): void {
    const { worker, lockDurationMs } = this.settings;
    worker.startStalledCheckTimer().catch(() => undefined);
    this.#renewal = setInterval(() => this.#renewLocks(), lockDurationMs / 2);
    this.#renewal.unref?.();
    this.#loop = this.#fetchLoop();
  }

  /**
   * Stops taking jobs, waits for those in progress (at most `timeoutMs`; past it they are
   * left to BullMQ's stalled-job check, and another worker), then closes the worker.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    this.#wake();
    const drained = (async () => {
      while (this.#inProgress.size > 0) await Promise.allSettled([...this.#inProgress]);
    })();
    await Promise.race([drained, sleep(timeoutMs, undefined, { ref: false })]);
    clearInterval(this.#renewal);
    // Its jobs are this puller's (finished, or left to the stalled-job check past the
    // timeout): BullMQ has nothing to wait for but a fetch blocked on an empty queue.
    await this.settings.worker.close(true).catch(() => undefined);
    await this.#loop?.catch(() => undefined);
  }

  async #fetchLoop(): Promise<void> {
    const { slots } = this.settings;
    // Whether the last look found the queue empty: then a fetch waits for a job, without
    // a slot in hand.
    let drained = true;
    const closed = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    while (!this.#closing) {
      if (drained) {
        const job = await this.#fetch(true);
        if (!job) continue;
        drained = false;
        // A slot at once, or the job goes back for a worker that can start it now: the
        // next look waits in line for a slot here, with this process's own calls.
        if (slots.tryTake()) this.#start(job, true);
        else await job.moveToWait(job.token ?? "").catch(() => undefined);
        continue;
      }
      // Jobs wait: as many slots as are free (at least one, waiting in line for it), then
      // as many jobs at once: a wave's worth is taken in one round trip.
      let reserved = slots.takeUpTo(PARALLEL_FETCHES);
      if (reserved === 0) {
        const got = await Promise.race([slots.take().then(() => true), closed.then(() => false)]);
        if (!got) break;
        reserved = 1;
      }
      const jobs = await Promise.all(Array.from({ length: reserved }, () => this.#fetch(false)));
      for (const job of jobs) {
        if (job) this.#start(job, true);
        else slots.release();
      }
      if (jobs.some((job) => !job)) drained = true;
    }
  }

  /** The next job, if any: waiting for one to be added (`block`), or not. */
  async #fetch(block: boolean): Promise<Job<LlmJobData, LlmJobResult> | undefined> {
    const askedAt = Date.now();
    try {
      const job = await this.settings.worker.getNextJob(this.#token(), { block });
      // Back at once with nothing. Once is normal: BullMQ re-adds its marker whenever a
      // worker takes a job, so the last job taken wakes a worker that then finds none
      // (sleeping then made the next wave's first jobs wait up to 50 ms here). Twice in a
      // row is a paused or rate-limited queue: do not spin.
      if (!job && block && Date.now() - askedAt < FETCH_RETRY_MS && !this.#closing) {
        this.#quickEmpties += 1;
        if (this.#quickEmpties > 1) await sleep(FETCH_RETRY_MS);
      } else this.#quickEmpties = 0;
      return job;
    } catch {
      if (!this.#closing) await sleep(FETCH_RETRY_MS);
      return undefined;
    }
  }

  #token(): string {
    return `${this.settings.worker.id}:${this.#nextToken++}`;
  }

  /** Runs a fetched job (`holding`: one call slot is taken for it already). */
  #start(job: Job<LlmJobData, LlmJobResult>, holding: boolean): void {
    this.taken += 1;
    const done = this.#process(job, job.token ?? "", holding);
    this.#inProgress.add(done);
    void done.finally(() => this.#inProgress.delete(done));
  }

  async #process(
    job: Job<LlmJobData, LlmJobResult>,
    token: string,
    holding: boolean,
  ): Promise<void> {
    const id = job.id ?? "";
    this.#locks.set(id, token);
    const release = this.settings.holdLock?.(job, token);
    try {
      const outcome = await runLlmJob(job, holding, this.settings);
      if (outcome.kind === "done") await this.#complete(job, outcome, token);
      // BullMQ retries it with the queue's backoff while attempts are left.
      else await job.moveToFailed(outcome.error, token, false);
    } catch (error) {
      await job
        .moveToFailed(error instanceof Error ? error : new Error(String(error)), token, false)
        .catch(() => undefined);
    } finally {
      release?.();
      this.#locks.delete(id);
    }
  }

  /**
   * Completes a job and, with the slot its last call kept (or another free one), takes
   * the next one in the same round trip (BullMQ's `fetchNext`, as its own worker loop
   * does): a job costs one script call less, and its slot is filled without waiting for
   * the fetch loop.
   */
  async #complete(
    job: Job<LlmJobData, LlmJobResult>,
    { result, slotKept }: { result: LlmJobResult; slotKept: boolean },
    token: string,
  ): Promise<void> {
    const { slots, worker } = this.settings;
    const fetchNext = !this.#closing && (slotKept || slots.tryTake());
    if (slotKept && !fetchNext) slots.release();
    let next: Job<LlmJobData, LlmJobResult> | undefined;
    try {
      const fetched = await job.moveToCompleted(result, token, fetchNext);
      // [job fields, job id, rate limit until, delay until] when asked for the next job.
      const [data, id] = Array.isArray(fetched) ? fetched : [];
      if (fetchNext && data && typeof id === "string") {
        next = JobClass.fromJSON<LlmJobData, LlmJobResult>(worker, data, id);
        next.token = token;
      }
    } finally {
      if (next) {
        this.chained += 1;
        this.#start(next, true);
      } else if (fetchNext) slots.release();
    }
  }

  #renewLocks(): void {
    if (this.#locks.size === 0) return;
    const { worker, lockDurationMs } = this.settings;
    worker
      .extendJobLocks([...this.#locks.keys()], [...this.#locks.values()], lockDurationMs)
      .catch(() => undefined);
  }
}
