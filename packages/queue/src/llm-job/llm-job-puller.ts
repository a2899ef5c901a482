import { failSpan, SpanAttributes, setUsageAttributes } from "@rlm/core";
import type { Span } from "@opentelemetry/api";
import type { Job, Worker } from "bullmq";
import { setTimeout as sleep } from "node:timers/promises";
import { firstStart } from "../jobs/first-start.js";
import { graceForEarlierHolder, wasTakenOver } from "../jobs/stalled-grace.js";
import type { LlmCall, LlmJobData, LlmJobResult } from "../jobs/job-types.js";
import type { ContextStore } from "../storage/context-store.js";
import { RedisJournal } from "../storage/redis-journal.js";
import type { RedisClient } from "../storage/redis-client.js";
import type { CallSlots } from "./call-slots.js";
import { type CallOutcome, type CallRunnerServices, runCall } from "./call-runner.js";
import { inJobSpan, JobSpanAttributes, JobSpanNames } from "../observing/job-trace.js";
import type { CancelWatch } from "../answers/cancel-watch.js";

/** What {@link LlmJobPuller} needs from its worker process. */
export interface LlmJobPullerSettings {
  /** A BullMQ worker on `rlm-llm` made without a processor: jobs are fetched here. */
  worker: Worker<LlmJobData, LlmJobResult>;
  /** The process's call slots, shared with the calls its own root runs make. */
  slots: CallSlots;
  runner: CallRunnerServices;
  redis: RedisClient;
  prefix: string;
  contexts: ContextStore;
  /** Aborts the calls of an analysis once it is cancelled or has ended. */
  cancelWatch?: CancelWatch;
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
  /** Jobs taken (for statistics). */
  taken = 0;

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
      const outcome = await this.#run(job, holding);
      if (outcome.kind === "done") await job.moveToCompleted(outcome.result, token, false);
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

  /** Makes the job's calls that are not journaled yet, each within a call slot. */
  async #run(
    job: Job<LlmJobData, LlmJobResult>,
    holding: boolean,
  ): Promise<{ kind: "done"; result: LlmJobResult } | { kind: "retry"; error: Error }> {
    const { data } = job;
    const { slots, runner, contexts } = this.settings;
    const result: LlmJobResult = { answered: 0, failed: 0, memoized: 0, cancelled: 0 };
    let calls = data.calls;
    // The slot taken for the job goes to its first call.
    let held = holding;
    const slot = async () => {
      if (held) held = false;
      else await slots.take();
    };
    if (!firstStart(job)) {
      // Taken over from a worker whose lock lapsed: that worker may be alive and about to
      // journal answers it holds (Redis was away); they land before the memo is read.
      if (wasTakenOver(job)) await graceForEarlierHolder();
      // Run before (a retry, a crash): the memo of every call, in one round trip. On a
      // first start its calls are new: the root adds a call only when the journal lacks it.
      const journal = new RedisJournal({
        redis: this.settings.redis,
        analysisId: data.analysisId,
        prefix: this.settings.prefix,
      });
      const existing = await journal.getMany(calls.map((call) => call.journalKey));
      calls = calls.filter((_call, index) => existing[index]?.kind !== "sub");
      result.memoized = data.calls.length - calls.length;
    }
    const attemptsLeft = (job.opts.attempts ?? 1) - (job.attemptsMade + 1);
    // Watched from now: a call waiting for a slot is dropped once its analysis stops.
    const cancel = this.settings.cancelWatch?.hold(data.analysisId);
    let retry: Error | undefined;
    try {
      await Promise.all(
        calls.map((call) =>
          // The call's span is a child of its sub-call's, in the root's run.
          inJobSpan(JobSpanNames.llmCall, call.trace, callAttributes(job, call), async (span) => {
            await slot();
            try {
              for (;;) {
                if (retry) return; // the job goes back to the queue: not started now
                const outcome = await runCall(
                  runner,
                  data,
                  {
                    journalKey: call.journalKey,
                    query: call.query,
                    // Read within its slot: a job's large chunks are not all held at once.
                    text: async () => {
                      const context = await contexts.get(call.contextRef);
                      return typeof context === "string" ? context : JSON.stringify(context);
                    },
                    ...(call.schema ? { schema: call.schema } : {}),
                  },
                  {
                    canRetry: attemptsLeft > 0,
                    deliverHere: true,
                    lane: "job",
                    ...(cancel ? { signal: cancel.signal } : {}),
                  },
                );
                traceCallOutcome(span, outcome);
                if (outcome.kind === "rate_limited") continue; // after the provider's pause
                if (outcome.kind === "retry") retry ??= outcome.error;
                else if (outcome.kind === "cancelled") result.cancelled += 1;
                else {
                  result.answered += 1;
                  if (outcome.record.error) result.failed += 1;
                }
                return;
              }
            } finally {
              slots.release();
            }
          }),
        ),
      );
    } finally {
      cancel?.release();
      if (held) slots.release(); // every call was in the journal already
    }
    // A retry (with backoff) makes the calls still missing.
    return retry ? { kind: "retry", error: retry } : { kind: "done", result };
  }

  #renewLocks(): void {
    if (this.#locks.size === 0) return;
    const { worker, lockDurationMs } = this.settings;
    worker
      .extendJobLocks([...this.#locks.keys()], [...this.#locks.values()], lockDurationMs)
      .catch(() => undefined);
  }
}

function callAttributes(job: Job<LlmJobData, LlmJobResult>, call: LlmCall) {
  return {
    [SpanAttributes.analysisId]: job.data.analysisId,
    [SpanAttributes.depth]: job.data.depth,
    [SpanAttributes.subCallKey]: call.journalKey,
    [SpanAttributes.requestModel]: job.data.model,
    [JobSpanAttributes.system]: "bullmq",
    [JobSpanAttributes.destination]: job.queueName,
    [JobSpanAttributes.operation]: "process",
    [JobSpanAttributes.messageId]: job.id ?? "",
  };
}

/** A try of the call on its span: how it ended, and the usage of an answer. */
function traceCallOutcome(span: Span, outcome: CallOutcome): void {
  if (!span.isRecording()) return;
  span.setAttribute(JobSpanAttributes.callOutcome, outcome.kind);
  if (outcome.kind !== "answered") return;
  const { record } = outcome;
  setUsageAttributes(span, record.usage, Object.keys(record.byModel));
  if (record.error) failSpan(span, record.error);
}
