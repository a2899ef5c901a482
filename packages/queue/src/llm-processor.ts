import {
  answeredSubCall,
  type ConcurrencyGate,
  FifoGate,
  failedSubCall,
  type ModelClient,
  type SubCallRecord,
  subCallMessages,
  toRlmError,
} from "@rlm/core";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { setImmediate as nextTask } from "node:timers/promises";
import pLimit from "p-limit";
import type { AnalysisStore } from "./analysis-store.js";
import { CallAdmission } from "./call-admission.js";
import type { CancelWatch } from "./cancel-watch.js";
import type { CallResults } from "./call-results.js";
import { firstStart } from "./first-start.js";
import type { FreshBatches } from "./fresh-batches.js";
import type { ContextStore } from "./context-store.js";
import type { LlmJobResult, LlmQueueJobData } from "./job-types.js";
import type { HeldLocks } from "./held-locks.js";
import { RedisJournal } from "./redis-journal.js";

/** What the LM processor needs from its worker process. */
export interface LlmProcessorServices {
  redis: Redis;
  prefix: string;
  contexts: ContextStore;
  store: AnalysisStore;
  /**
   * Client for sub-calls. It should NOT retry rate limits itself (`retryRateLimits:
   * false`): a 429 pauses every worker instead, so they back off together rather than
   * each one hammering the provider.
   */
  model: ModelClient;
  /** The worker, for `rateLimit`; set once the Worker exists. */
  worker: () => Worker | undefined;
  /** Model calls in flight at once in this process, across all its LM jobs. */
  callConcurrency: number;
  /** Global request rate: at most `max` model calls started per `durationMs`. */
  limiter?: { max: number; durationMs: number };
  /** Pause when a 429 gave no Retry-After. Default 1000 ms. */
  defaultRateLimitMs?: number;
  /** Announces each journaled result to the live runs of this process. */
  callResults?: CallResults;
  /** Ids of the LM jobs this process is running, kept up to date here for root runs. */
  jobsHere?: Set<string>;
  /** LM jobs the root runs of this process have just added (see `isFreshDelivery`). */
  freshBatches?: FreshBatches;
  /** The job locks of this process, extended before a large document blocks the thread. */
  heldLocks?: HeldLocks;
  /** Aborts the calls of a cancelled analysis: queued ones never start, sent ones drop. */
  cancelWatch?: CancelWatch;
}

/** Why a batch went back to the queue before all its calls were made. */
interface Interruption {
  rateLimitMs?: number;
  retryable?: Error;
}

/** How one run of a batch ended. */
export type BatchOutcome =
  | { kind: "done"; result: LlmJobResult }
  /** A 429: the batch goes back to the queue once the provider's pause is set. */
  | { kind: "rate_limited"; ms: number }
  /** A retryable failure with attempts left: the batch is retried with backoff. */
  | { kind: "retry"; error: Error };

/** How a batch reached the process that runs it. */
export interface BatchDelivery {
  /**
   * A batch a root run of this process added a moment ago, on its first run: its calls
   * are new by construction, so their memo and the cancel flag are not read first.
   */
  fresh: boolean;
  /** Runs of the job left after this one: a retryable failure is journaled when none. */
  attemptsLeft: number;
}

/** What every call of a batch shares (the job data without its calls). */
export type BatchHeader = Omit<LlmQueueJobData, "calls">;

/** One call of a batch run: its journal key, its query, and how to get its context text. */
export interface BatchCall {
  journalKey: string;
  query: string;
  /** The context text (read from the context store when the call gets its slot). */
  text: () => string | Promise<string>;
  /**
   * Goes on in a task of its own once it has its slot. For the calls of a batch started
   * together: node writes a request to its socket only between tasks, so without this
   * the first request would leave once all of them were built.
   */
  ownTask?: boolean;
}

/** One run of one batch, whose calls may start one by one (see `EagerBatches`). */
export interface BatchRun {
  /** Starts a call within the process's call slots; its outcome joins the batch's. */
  start(call: BatchCall): void;
  /** Resolves once every call started so far has ended. Called after the last `start`. */
  end(): Promise<BatchOutcome>;
}

/**
 * Runs the model calls of LM batches, within the process's call slots and the global
 * admission (rate limit, provider pause). The Redis journal is the memo: a call whose
 * record exists is never requested again, so a batch retried after a crash, a 429 or a
 * transient failure makes only the calls it still lacks.
 */
export interface LlmBatchRunner {
  /** Most model calls in flight at once in this process. */
  readonly callConcurrency: number;
  /** Calls started here that have not ended (waiting for a slot, or in flight). */
  readonly callsHere: number;
  /** Runs a batch taken from the queue: the memo first (unless fresh), then its calls. */
  run(data: LlmQueueJobData, delivery: BatchDelivery): Promise<BatchOutcome>;
  /** Opens a run whose calls are started by the caller, as they come (no memo read). */
  open(header: BatchHeader, delivery: BatchDelivery): BatchRun;
}

/** The batch runner of a worker process (one per process: it owns the call slots). */
export function createLlmBatchRunner(services: LlmProcessorServices): LlmBatchRunner {
  const callConcurrency = Math.max(1, services.callConcurrency);
  // A client that honours gates holds one of `callConcurrency` slots only around its HTTP
  // exchange, and twice as many calls may be inside it, so the next requests are built
  // while the slots are busy. Any other client holds its slot around the whole call.
  const gate = services.model.honoursGate ? new FifoGate(callConcurrency) : undefined;
  const slots = pLimit(gate ? 2 * callConcurrency : callConcurrency);
  const admission = new CallAdmission({
    redis: services.redis,
    prefix: services.prefix,
    ...(services.limiter ? { limiter: services.limiter } : {}),
  });
  let callsHere = 0;

  const journalOf = (analysisId: string) =>
    new RedisJournal({ redis: services.redis, analysisId, prefix: services.prefix });

  function open(
    header: BatchHeader,
    delivery: BatchDelivery,
    journal = journalOf(header.analysisId),
  ): BatchRun {
    if (delivery.fresh) {
      // Read in the background: a pause another worker set is adopted once it arrives.
      admission.refresh().catch(() => undefined);
    }
    const result: LlmJobResult = { answered: 0, failed: 0, memoized: 0, cancelled: 0 };
    const interruption: Interruption = {};
    const calls: Array<Promise<void>> = [];
    const callOne = async (call: BatchCall, cancelled: AbortSignal | undefined) => {
      if (call.ownTask) await nextTask();
      // After a 429 or a retryable failure the batch goes back to the queue: calls
      // not started yet wait for its next run instead of starting now.
      if (interruption.rateLimitMs !== undefined || interruption.retryable) return;
      await admission.admit();
      if (interruption.rateLimitMs !== undefined) return;
      // Not journaled: the analysis is over, and nothing must replay as an answer.
      if (cancelled?.aborted) {
        result.cancelled += 1;
        return;
      }
      const outcome = await makeCall(
        services,
        header,
        call,
        delivery.attemptsLeft > 0,
        gate,
        cancelled,
      );
      if (outcome.kind === "cancelled") {
        result.cancelled += 1;
        return;
      }
      if (outcome.kind === "rate_limited") {
        interruption.rateLimitMs = Math.max(interruption.rateLimitMs ?? 0, outcome.ms);
        await admission.pause(outcome.ms);
        return;
      }
      if (outcome.kind === "retry") {
        interruption.retryable ??= outcome.error;
        return;
      }
      const stored = await journal.putIfAbsent(call.journalKey, outcome.record);
      if (stored.kind !== "sub") {
        throw new UnrecoverableError("journal holds a non sub-call record");
      }
      // A root run of this process waiting for it takes the answer now, not when
      // BullMQ resumes its job: its cell goes on while the rest of the fan-out runs.
      services.callResults?.publish(header.analysisId, call.journalKey, stored);
      result.answered += 1;
      if (stored.error) result.failed += 1;
    };
    return {
      start(call) {
        callsHere += 1;
        // Watched from now, not from when it gets a slot: a call waiting behind others'
        // calls is dropped as soon as its analysis is seen cancelled or ended.
        const cancel = services.cancelWatch?.hold(header.analysisId);
        const done = slots(() => callOne(call, cancel?.signal)).finally(() => {
          cancel?.release();
          callsHere -= 1;
        });
        // Heard in `end`; until then a failure must not count as unhandled.
        done.catch(() => undefined);
        calls.push(done);
      },
      async end() {
        // Every call ends before the batch does, even when one failed: a job failed (and
        // retried elsewhere) while calls of its are still running would pay for them twice.
        const settled = await Promise.allSettled(calls);
        const failure = settled.find((one) => one.status === "rejected");
        if (failure) throw failure.reason;
        if (interruption.rateLimitMs !== undefined) {
          return { kind: "rate_limited", ms: interruption.rateLimitMs };
        }
        // A retry of the job (with backoff) makes the calls that are still missing.
        if (interruption.retryable) return { kind: "retry", error: interruption.retryable };
        return { kind: "done", result };
      },
    };
  }

  async function run(data: LlmQueueJobData, delivery: BatchDelivery): Promise<BatchOutcome> {
    const journal = journalOf(data.analysisId);
    let openCalls = data.calls;
    let memoized = 0;
    if (!delivery.fresh) {
      // The memo of every call, the cancel flag and any pause set by another worker, sent
      // together: one round trip however many calls the batch holds.
      const [existing, cancelled] = await Promise.all([
        Promise.all(data.calls.map((call) => journal.get(call.journalKey))),
        services.store.isCancelRequested(data.analysisId),
        admission.refresh(),
      ]);
      openCalls = data.calls.filter((_call, index) => existing[index]?.kind !== "sub");
      memoized = data.calls.length - openCalls.length;
      if (cancelled) {
        // Not journaled: the analysis is over, and nothing must replay as an answer.
        const result = { answered: 0, failed: 0, memoized, cancelled: openCalls.length };
        return { kind: "done", result };
      }
    }
    const batch = open(data, delivery, journal);
    for (const call of openCalls) {
      batch.start({
        journalKey: call.journalKey,
        query: call.query,
        ownTask: true,
        text: async () => {
          // Read inside its slot: a batch of large chunks is not all held in memory while
          // it waits for slots.
          const context = await services.contexts.get(call.contextRef);
          return typeof context === "string" ? context : JSON.stringify(context);
        },
      });
    }
    const outcome = await batch.end();
    if (outcome.kind === "done") outcome.result.memoized = memoized;
    return outcome;
  }

  return {
    callConcurrency,
    get callsHere() {
      return callsHere;
    },
    run,
    open,
  };
}

/**
 * Processes `rlm-llm` jobs taken from the queue: each a batch of plain model calls
 * (`recursiveLm` at the last depth), run by `runner`. A 429 pauses this worker's LM
 * queue and puts the job back; a retryable failure fails this attempt (BullMQ retries
 * it with backoff).
 */
export function createLlmProcessor(
  services: LlmProcessorServices,
  runner: LlmBatchRunner = createLlmBatchRunner(services),
) {
  return async function processLlmJob(
    job: Job<LlmQueueJobData>,
    token?: string,
  ): Promise<LlmJobResult> {
    const id = job.id ?? "";
    services.jobsHere?.add(id);
    const unhold = services.heldLocks?.hold(job, token);
    try {
      const outcome = await runner.run(job.data, {
        fresh: isFreshDelivery(job, services.freshBatches),
        attemptsLeft: (job.opts.attempts ?? 1) - (job.attemptsMade + 1),
      });
      if (outcome.kind === "done") return outcome.result;
      if (outcome.kind === "retry") throw outcome.error;
      const worker = services.worker();
      if (!worker) throw new Error("rate limited by the model provider");
      // No worker takes an LM job until the pause is over; this one goes back to wait.
      await worker.rateLimit(outcome.ms);
      throw Worker.RateLimitError();
    } finally {
      unhold?.();
      services.jobsHere?.delete(id);
    }
  };
}

/**
 * True for the first delivery of a batch that a root run of this process added a moment
 * ago (`FreshBatches`: within 100 ms, on this process's clock). Its calls are new by
 * construction: the root adds a call only when the journal lacks it, and a rebuilt root
 * waits for its earlier children before it replays; the memo is what keeps a
 * re-delivered or retried batch from paying twice, and it is read then. Its root was
 * running a moment ago, so the cancel flag is read only for batches that sat in the
 * queue or came from another process (a cancel stops those; one that lands between a
 * root's add and its batch's start no longer stops that batch).
 *
 * Why: that read was a Redis round trip between every fan-out and its first model call
 * (about a millisecond on a busy worker, of the ~5 the queue added per call).
 */
function isFreshDelivery(job: Job, fresh: FreshBatches | undefined): boolean {
  if (!fresh || !firstStart(job)) return false;
  return fresh.take(job.id ?? "");
}

type CallOutcome =
  | { kind: "record"; record: SubCallRecord }
  | { kind: "cancelled" }
  | { kind: "rate_limited"; ms: number }
  | { kind: "retry"; error: Error };

async function makeCall(
  services: LlmProcessorServices,
  header: BatchHeader,
  call: BatchCall,
  canRetry: boolean,
  gate: ConcurrencyGate | undefined,
  cancelled: AbortSignal | undefined,
): Promise<CallOutcome> {
  const text = await call.text();
  if (cancelled?.aborted) return { kind: "cancelled" };
  const identity = { argumentsHash: "", query: call.query, contextChars: text.length };
  const startedAt = Date.now();
  try {
    const response = await services.model.complete({
      model: header.model,
      messages: subCallMessages(call.query, text.length > 0 ? text : undefined),
      analysisId: header.analysisId,
      ...(header.maxOutputTokens === undefined ? {} : { maxOutputTokens: header.maxOutputTokens }),
      ...(gate ? { gate } : {}),
      ...(cancelled ? { signal: cancelled } : {}),
    });
    return { kind: "record", record: answeredSubCall(identity, response, Date.now() - startedAt) };
  } catch (error) {
    if (cancelled?.aborted) return { kind: "cancelled" };
    const failure = toRlmError(error);
    if (failure.code === "rate_limited") {
      const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
      return { kind: "rate_limited", ms: retryAfter ?? services.defaultRateLimitMs ?? 1_000 };
    }
    if (failure.retryable && canRetry) return { kind: "retry", error: failure };
    // Final: journal the failure so the code sees it and replays agree.
    return { kind: "record", record: failedSubCall(identity, failure, Date.now() - startedAt) };
  }
}
