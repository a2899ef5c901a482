import {
  AnalysisMachine,
  CancelledError,
  type ContextDescription,
  DocumentLoadError,
  type EngineOptions,
  failedSubCall,
  type ModelClient,
  nestedSubCall,
  RlmError,
  type RlmEvent,
  type RlmResult,
  resolveEngineOptions,
  type Sandbox,
  type SandboxDocument,
  type SandboxFactory,
  type StepOutcome,
} from "@rlm/core";
import { type Job, UnrecoverableError, WaitingChildrenError } from "bullmq";
import type { Redis } from "ioredis";
import { AnalysisReporter } from "../analyses/analysis-reporter.js";
import type { AnalysisStore } from "../analyses/analysis-store.js";
import type { AnalysisRecord } from "../analyses/analysis-types.js";
import type { CallResults } from "../answers/call-results.js";
import type { ContextRef, ContextStore } from "../storage/context-store.js";
import type { DocumentCache, LoadedDocument } from "../documents/document-cache.js";
import type { EagerBatches } from "../sub-calls/eager-batches.js";
import { firstStart } from "../jobs/first-start.js";
import { takenElsewhere } from "./taken-elsewhere.js";
import type { FreshBatches } from "../sub-calls/fresh-batches.js";
import { DocumentSlices } from "../documents/document-slices.js";
import {
  JobName,
  type NestedJobData,
  type RootJobResult,
  type RootQueueJobData,
  type SubCallJobResult,
  subCallJobResult,
} from "../jobs/job-types.js";
import type { LiveRun, LiveRuns } from "./live-runs.js";
import {
  childJobId,
  QueueSubCallExecutor,
  type SubCallBatching,
} from "../sub-calls/queue-sub-call-executor.js";
import type { CancelWatch } from "../llm-job/cancel-watch.js";
import type { HeldLocks } from "../worker/held-locks.js";
import { RedisJournal } from "../storage/redis-journal.js";
import type { LlmQueue, RootQueue } from "../jobs/queues.js";

/** What the root processor needs from its worker process. */
export interface RootProcessorServices {
  redis: Redis;
  prefix: string;
  contexts: ContextStore;
  store: AnalysisStore;
  rootQueue: RootQueue;
  llmQueue: LlmQueue;
  /** Client for root-model turns (retries, including rate limits, happen in it). */
  model: ModelClient;
  sandboxFactory: SandboxFactory;
  documents: DocumentCache;
  live: LiveRuns;
  /** Results journaled by this process's LM jobs, handed to live runs as they arrive. */
  callResults?: CallResults;
  /** The job locks of this process, extended before a large document blocks the thread. */
  heldLocks?: HeldLocks;
  /** Told when an analysis ends, so its calls still queued or running here stop. */
  cancelWatch?: CancelWatch;
  /** Worker-level defaults under each job's options (models from the environment, say). */
  defaults: WorkerEngineDefaults;
  /** How often a running analysis checks whether it was cancelled. Default 500 ms. */
  cancelPollMs?: number;
  /** Retention of record, events and journal after the analysis ends. */
  retentionSeconds?: number;
  /** How plain sub-calls are grouped into LM jobs (default `DEFAULT_SUB_CALL_BATCHING`). */
  batching?: SubCallBatching;
  /**
   * Ids of the LM jobs this process is running, and its root concurrency. With both, a
   * root job whose children are all being answered here keeps its slot while they run
   * (see `holdWhileAnsweredHere`) instead of a waiting-children round trip.
   */
  hold?: { llmJobsHere: ReadonlySet<string>; rootConcurrency: number };
  /** Told of each LM job a run adds, for this process's LM worker (`FreshBatches`). */
  freshBatches?: FreshBatches;
  /** Runs the LM batches a run adds in this process when it has call slots free. */
  eager?: EagerBatches;
}

/**
 * How long after being added a child job may be away from this process before a root job
 * holding its slot for it asks BullMQ where it is. This process's LM worker usually takes
 * a new job within a millisecond or two, but the second batch of a fan-out can wait for
 * the first one's calls to be started.
 */
const HOLD_PICKUP_GRACE_MS = 5;

/** How long a child job may stay queued while a root job holds its slot for it. */
const HOLD_QUEUED_MAX_MS = 50;

/**
 * In queue mode a cell's wall-clock limit also covers time its sub-calls wait in the
 * queue behind other work, so it defaults to much longer than in process; runaway
 * CPU is still stopped by the CPU limit.
 */
export const QUEUE_CELL_TIMEOUT_MS = 15 * 60_000;

/**
 * Processes `rlm-root` jobs: top analyses and nested sub-analyses. Each run advances the
 * analysis's step machine until it finishes or is blocked on sub-call child jobs; then
 * the job moves to waiting-children (releasing its worker slot) and is resumed when
 * they finish. A resume in the same process continues the live REPL; elsewhere (or
 * after a crash) the machine is rebuilt and replays the Redis journal.
 */
export function createRootProcessor(services: RootProcessorServices) {
  const slots = new RootSlots(services.hold?.rootConcurrency ?? 0);
  return async function processRootJob(
    job: Job<RootQueueJobData>,
    token?: string,
  ): Promise<RootJobResult | SubCallJobResult> {
    slots.taken();
    const unhold = services.heldLocks?.hold(job, token);
    try {
      return await processRootRun(job, token);
    } finally {
      unhold?.();
      slots.freed();
    }
  };

  async function processRootRun(
    job: Job<RootQueueJobData>,
    token?: string,
  ): Promise<RootJobResult | SubCallJobResult> {
    const data = job.data;
    const top = job.name === JobName.root;
    const reporter = top
      ? new AnalysisReporter({
          redis: services.redis,
          analysisId: data.analysisId,
          prefix: services.prefix,
          ...(services.retentionSeconds === undefined
            ? {}
            : { retentionSeconds: services.retentionSeconds }),
        })
      : undefined;
    const runKey = job.id ?? data.analysisId;

    // A resume in this process continues its live run; its children's results are read
    // in the same round trip as the cancel flag and the status update.
    const cached = services.live.get(runKey);
    cached?.executor.attach(job);
    // A rebuild (crash, lost lock, or a resume in another process) first waits for
    // children an earlier run enqueued (below). Otherwise the run is built right after
    // this step, so what it is built from is read in the same round trip: a new job's
    // first model call leaves one round trip sooner.
    const waitsForChildren = token !== undefined && !firstStart(job);
    const sources = cached || waitsForChildren ? undefined : readRunSources(services, job);
    sources?.catch(() => undefined); // awaited below, or handed back
    // A nested run also stops once the top analysis has ended (a budget spent there, an
    // answer found): its turns and calls are no longer wanted by anyone.
    const stopRequested = () =>
      top
        ? services.store.isCancelRequested(data.analysisId)
        : services.store.callsUnwanted(data.analysisId);
    const [cancelRequested, stillRunning] = await Promise.all([
      stopRequested(),
      reporter ? reporter.running() : Promise.resolve(true),
      cached?.executor.settle(),
    ]).catch(async (error: unknown) => {
      if (sources) await releaseSources(services, job, sources);
      throw error;
    });
    // A run that had finished (it waited only for BullMQ to complete its children) keeps
    // its result: a cancel that came after the answer does not undo it.
    const finished = cached?.machine.outcome().done === true;
    if (cancelRequested && !finished) {
      services.live.discard(runKey);
      if (sources) await releaseSources(services, job, sources);
      return finishCancelled(job, reporter);
    }
    if (!stillRunning) {
      // Already ended: cancelled while queued, say, or a finished run that reported its
      // result before it waited for its children (see below). Nothing to do.
      const ended = cached?.machine.outcome();
      services.live.discard(runKey);
      if (sources) await releaseSources(services, job, sources);
      const finishReason = ended?.done
        ? ended.result.finishReason
        : ((await services.store.get(data.analysisId).catch(() => null))?.result?.finishReason ??
          "cancelled");
      return { analysisId: data.analysisId, finishReason };
    }

    let run: LiveRun;
    try {
      if (cached) run = cached;
      else {
        // A rebuild (crash, lost lock, or a resume in another process). Children an
        // earlier run enqueued may still be running: wait for them first, so that the
        // replay finds their answers in the journal instead of asking for them again.
        // On the job's first start there is no earlier run, and no child: no round trip.
        if (waitsForChildren && (await job.moveToWaitingChildren(token))) {
          if (reporter) await reporter.waiting();
          throw new WaitingChildrenError();
        }
        run = await createRun(services, job, reporter, sources);
        run.executor.attach(job);
      }
    } catch (error) {
      // A context that expired will not come back: no point in retrying.
      if (error instanceof RlmError && error.code === "context_missing") {
        throw new UnrecoverableError(error.message);
      }
      throw error;
    }

    let cancelled = false;
    const poll = setInterval(() => {
      stopRequested()
        .then((requested) => {
          if (requested && !cancelled) {
            cancelled = true;
            run.abort.abort(new CancelledError());
            run.executor.rejectAll(new CancelledError());
          }
        })
        .catch(() => undefined);
    }, services.cancelPollMs ?? 500);
    poll.unref?.();

    // Whether this run kept its slot through children at some point (see above).
    let held = false;
    // Set after a hold gave the slot up: the run must be seen blocked again, with no call
    // still being added, before it moves to waiting-children.
    let recheck = false;
    try {
      for (;;) {
        run.step ??= run.machine.step();
        let stepFinished = false;
        const step = run.step.then((outcome) => {
          stepFinished = true;
          return outcome;
        });
        const winner = await Promise.race([
          step.then((outcome) => ({ outcome })),
          run.executor.whenBlocked(() => stepFinished).then((blocked) => ({ blocked })),
        ]);
        if ("outcome" in winner) {
          run.step = undefined;
          if (!winner.outcome.done) continue;
          // Children answered while the slot was held, or handed over live, may not be
          // completed in BullMQ yet, and a parent with pending children cannot complete:
          // wait for them first. The result is final already: it is reported while
          // BullMQ is asked, so the producer does not wait for that round trip (after a
          // wait, the resumed job reports it again, which is refused).
          // A run that added children may end before BullMQ has seen them all end (a
          // budget, a cancel, a FINAL with calls not awaited): it must wait for them.
          const live = held || run.executor.tookLiveAnswers || run.executor.issuedChildren;
          if (live && token) {
            const [waits] = await Promise.all([
              job.moveToWaitingChildren(token),
              reporter ? report(reporter, winner.outcome.result) : undefined,
            ]);
            if (waits) {
              services.live.set(runKey, run);
              throw new WaitingChildrenError();
            }
            return await finish(services, run, job, undefined, winner.outcome);
          }
          return await finish(services, run, job, reporter, winner.outcome);
        }
        if (!winner.blocked) continue;
        if (!recheck) {
          if (await holdWhileAnsweredHere(services, run, slots, () => stepFinished)) {
            held = true;
            services.live.held += 1;
            continue;
          }
          // While the slot was held the cell may have gone on and issued calls whose jobs
          // are still being added: wait until it is blocked again with nothing in flight.
          recheck = true;
          continue;
        }
        recheck = false;
        // Blocked on children: keep the live run for a resume in this process.
        services.live.set(runKey, run);
        if (reporter) await reporter.waiting();
        if (!token) throw new Error("the root processor needs the job token");
        if (await job.moveToWaitingChildren(token)) {
          if (reporter) reportIfEndedWhileParked(services, run, runKey, reporter, data.analysisId);
          throw new WaitingChildrenError();
        }
        // The children had all finished already: take their results and go on.
        services.live.held += 1;
        if ((await run.executor.settle()) > 0) await resolveLostChildren(services, run, job);
        if (reporter) await reporter.running();
      }
    } catch (error) {
      if (!(error instanceof WaitingChildrenError)) {
        // An unexpected failure: the next attempt rebuilds from the journal.
        services.live.discard(runKey);
        run.release();
      }
      // A deferred document that expired will not come back (as in `createRun`); any
      // other failure to load it is retried with the job.
      if (error instanceof DocumentLoadError && !error.retryable) {
        throw new UnrecoverableError(error.message);
      }
      throw error;
    } finally {
      clearInterval(poll);
    }
  }
}

/** Steps already watched by {@link reportIfEndedWhileParked} (a run may park again). */
const watchedSteps = new WeakSet<Promise<StepOutcome>>();

/**
 * A parked run (waiting-children, its slot given up) still takes the answers of its LM
 * jobs, so its step can end while it waits: a budget spent mid fan-out, say. Its result
 * is reported then, not once BullMQ resumes the job after every child has ended: the
 * record is terminal at once, so the calls of the fan-out still queued or running
 * anywhere are dropped (`CancelWatch`) instead of all being made and paid. The resumed
 * job finds the analysis ended and completes.
 */
function reportIfEndedWhileParked(
  services: RootProcessorServices,
  run: LiveRun,
  runKey: string,
  reporter: AnalysisReporter,
  analysisId: string,
): void {
  const step = run.step;
  if (!step || watchedSteps.has(step)) return;
  watchedSteps.add(step);
  step
    .then(async (outcome) => {
      if (!outcome.done || services.live.peek(runKey) !== run) return;
      await report(reporter, outcome.result);
      services.cancelWatch?.cancel(analysisId);
    })
    .catch(() => undefined);
}

/**
 * Root jobs running in this process, against its root concurrency; wakes holders when
 * the last slot is taken.
 */
class RootSlots {
  private running = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly limit: number) {}

  /** True when every slot is taken: a held slot is needed by another root job. */
  get full(): boolean {
    return this.running >= this.limit;
  }

  taken(): void {
    this.running += 1;
    if (this.full) for (const wake of [...this.listeners]) wake();
  }

  freed(): void {
    this.running -= 1;
  }

  /** Calls `wake` when the slots fill up, until the returned function is called. */
  onFull(wake: () => void): () => void {
    this.listeners.add(wake);
    return () => this.listeners.delete(wake);
  }
}

/**
 * Keeps the root job's slot while the children it is blocked on are answered in this
 * process, whose LM jobs hand each answer to the run as it is journaled: the cell goes
 * on as they arrive and, once it moves, the job continues without moving to
 * waiting-children and being taken again (a few Redis round trips per fan-out, the
 * slowest part of the way back from a fan-out). Returns true when the run moved (its
 * step finished, or no call is pending any more); false when the slot must go: another
 * root job needs it (every slot is taken), or a child runs elsewhere (taken by another
 * worker, nested, retrying after a failure). A child still queued keeps the slot held.
 *
 * Why it cannot deadlock: a held slot is given up as soon as the process's last free
 * slot is taken, so root jobs (nested analyses included) always find one.
 */
async function holdWhileAnsweredHere(
  services: RootProcessorServices,
  run: LiveRun,
  slots: RootSlots,
  isStopped: () => boolean,
): Promise<boolean> {
  const hold = services.hold;
  if (!hold) return false;
  let wakeOnFull: () => void = () => undefined;
  const stopWatching = slots.onFull(() => wakeOnFull());
  // When each job was first seen active without being here (see below).
  const activeSince = new Map<string, number>();
  try {
    for (;;) {
      if (isStopped() || run.executor.pendingCount === 0) return true;
      if (slots.full) return false;
      const away = run.executor.jobsAwayFrom(hold.llmJobsHere, HOLD_PICKUP_GRACE_MS);
      // Queued for long: the LM workers are busy, the answer is far off; do not poll.
      if (away.some(({ ageMs }) => ageMs > HOLD_QUEUED_MAX_MS)) return false;
      if (away.length > 0) {
        // Still queued: this process will likely take it; keep the slot. Taken by another
        // worker (or retrying, or not an LM job): only BullMQ's resume brings its answer.
        const states = await Promise.all(
          away.map(({ jobId }) => services.llmQueue.getJobState(jobId)),
        );
        if (states.includes("completed")) {
          // Answered elsewhere a moment ago: the journal has it. A completed child whose
          // answer is not there (cancelled, lost) is for the waiting-children path.
          const before = run.executor.pendingCount;
          if ((await run.executor.settle()) < before) continue;
          return false;
        }
        if (takenElsewhere(away, states, activeSince, HOLD_PICKUP_GRACE_MS)) return false;
      }
      await new Promise<void>((resolve) => {
        wakeOnFull = resolve;
        void run.executor.nextChange(HOLD_PICKUP_GRACE_MS).then(resolve);
      });
    }
  } finally {
    stopWatching();
  }
}

/** What a run is built from, read from Redis (see {@link readRunSources}). */
interface RunSources {
  /** The document when this process has it loaded, else its description. */
  source: { description: ContextDescription } | { loaded: LoadedDocument };
  /** The analysis record (top analyses only). */
  record: AnalysisRecord | null | undefined;
}

/**
 * Reads what a run is built from. A string document not loaded in this process is read
 * while the first root call is in flight: that call needs only its description, read from
 * its two ends (see `DeferredContext`). Together with it: another TTL for the context
 * while the analysis runs, and the record whose `createdAt` starts the deadline budget
 * (it counts from when the analysis was enqueued, across resumes). Rejects with the
 * document handed back when a read fails.
 */
async function readRunSources(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
): Promise<RunSources> {
  const data = job.data;
  const nested = job.name === JobName.nested;
  const documentKey = contextIdentity(data.contextRef);
  const deferred = data.contextRef.kind === "string" && !services.documents.has(documentKey);
  const first: Promise<RunSources["source"]> = deferred
    ? services.contexts
        .describeString(data.contextRef, engineOptions(services, data).previewChars)
        .then((description) => ({ description }))
    : services.documents
        .acquire(documentKey, () => services.contexts.readDocument(data.contextRef))
        .then((loaded) => ({ loaded }));
  const [source, , record] = await Promise.all([
    first,
    services.contexts.touch(data.contextRef),
    nested ? undefined : services.store.get(data.analysisId),
  ]).catch(async (error: unknown) => {
    // A document acquired for a run that will not be built goes back at once.
    await releaseSources(
      services,
      job,
      first.then((got) => ({ source: got, record: null })),
    );
    throw error;
  });
  return { source, record };
}

/** Hands back the document that sources read for a run that will not be built. */
async function releaseSources(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  sources: Promise<RunSources>,
): Promise<void> {
  const got = await sources.catch(() => undefined);
  if (got && "loaded" in got.source) {
    services.documents.release(contextIdentity(job.data.contextRef));
  }
}

async function createRun(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
  sources: Promise<RunSources> = readRunSources(services, job),
): Promise<LiveRun> {
  const data = job.data;
  const nested = job.name === JobName.nested ? (data as NestedJobData) : undefined;
  let options: EngineOptions;
  try {
    options = engineOptions(services, data);
  } catch (error) {
    // Options that do not validate: the document read for the run goes back.
    await releaseSources(services, job, sources);
    throw error;
  }
  const documentKey = contextIdentity(data.contextRef);
  const readDocument = () => services.contexts.readDocument(data.contextRef);
  const { source, record } = await sources;
  const rootJournal = new RedisJournal({
    redis: services.redis,
    analysisId: data.analysisId,
    prefix: services.prefix,
  });
  const journalScope = nested?.journalScope ?? "";
  const scoped = journalScope ? rootJournal.scope(journalScope) : rootJournal;
  const abort = new AbortController();
  const holder: { sandbox?: Sandbox } = {};
  const executor = new QueueSubCallExecutor({
    placement: {
      analysisId: data.analysisId,
      journalScope,
      options: data.options,
      subModel: options.subModel,
      maxOutputTokens: options.maxOutputTokens,
    },
    journal: scoped,
    contexts: services.contexts,
    rootQueue: services.rootQueue,
    llmQueue: services.llmQueue,
    sandboxIdle: () =>
      holder.sandbox && !holder.sandbox.disposed ? holder.sandbox.idle() : Promise.resolve(),
    ...(services.batching ? { batching: services.batching } : {}),
    ...(services.freshBatches
      ? { onBatchAdded: (jobId: string) => services.freshBatches?.added(jobId) }
      : {}),
    ...(services.eager ? { eager: services.eager } : {}),
  });
  // The loaded document (now, or at the first cell when deferred): LM jobs of this process
  // take the run's chunks from its text instead of Redis, and chunks travel as ranges.
  let acquired = false;
  let released = false;
  let unhold = () => {};
  const useLoaded = (loaded: LoadedDocument) => {
    acquired = true;
    if (typeof loaded.context !== "string") return;
    unhold = services.contexts.hold(data.contextRef, loaded.context);
    if (data.contextRef.kind === "string") {
      executor.useDocument({ ref: data.contextRef, slices: new DocumentSlices(loaded.context) });
    }
  };
  if ("loaded" in source) useLoaded(source.loaded);
  let loading: Promise<SandboxDocument> | undefined;
  const loadDocument = (): Promise<SandboxDocument> => {
    loading ??= services.documents.acquire(documentKey, readDocument).then(
      (loaded) => {
        if (released) {
          // The run ended while its document was read: hand it straight back.
          services.documents.release(documentKey);
          throw new Error("the run was released while its document was read");
        }
        useLoaded(loaded);
        return loaded.document;
      },
      (error: unknown) => {
        loading = undefined; // the next cell tries again
        throw error;
      },
    );
    return loading;
  };
  // Answers reach the cell as they arrive (the journal has them first): from LM jobs of
  // this process, and over Redis from the others (`RedisCallResults`); any missed one is
  // read from the journal on resume.
  const unsubscribe =
    services.callResults?.subscribe(data.analysisId, (key, record) =>
      executor.deliver(key, record),
    ) ?? (() => {});
  const sandboxFactory: SandboxFactory = {
    loadDocument: (value) => services.sandboxFactory.loadDocument(value),
    create: async (sandboxOptions) => {
      const sandbox = await services.sandboxFactory.create(sandboxOptions);
      holder.sandbox = sandbox;
      return sandbox;
    },
  };
  const onEvent = reporter ? progressListener(reporter, job) : undefined;
  const startedAt = record?.createdAt;
  const machine = new AnalysisMachine({
    // Nested runs get their own seed so their Date/Math.random differ from the parent's.
    analysisId: nested ? `${data.analysisId}/${nested.journalKey}` : data.analysisId,
    query: data.query,
    context:
      "loaded" in source
        ? source.loaded.context
        : { deferred: { description: source.description, loadDocument } },
    options: { ...options, signal: abort.signal, onEvent },
    runtime: {
      model: services.model,
      sandboxFactory,
      journal: executor.observe(scoped),
      subCalls: executor,
    },
    depth: data.depth,
    // A top analysis on its job's first start has nothing journaled yet: its first turn
    // is not looked up. (Not a nested one: a job of the same id may have run before.)
    firstRun: !nested && firstStart(job),
    ...("loaded" in source ? { document: source.loaded.document } : {}),
    // A top analysis's REPL clock starts when it was enqueued: every run of it agrees.
    // A nested one keeps the default (its job carries no such time).
    ...(startedAt === undefined ? {} : { startedAt, clockStartMs: startedAt }),
  });
  return {
    machine,
    executor,
    abort,
    step: undefined,
    release: () => {
      // Idempotent: a run can be released by the cache and by its processor.
      if (released) return;
      released = true;
      machine.dispose();
      unsubscribe();
      unhold();
      if (acquired) services.documents.release(documentKey);
    },
  };
}

/** Engine options a worker applies to the jobs that do not set them. */
export interface WorkerEngineDefaults {
  rootModel?: string;
  subModel?: string;
  maxIterations?: number;
  maxDepth?: number;
  /** Sub-calls in flight for one analysis's own process (nested runs; see the README). */
  subConcurrency?: number;
}

/** What identifies a context's content: its hash, and the byte range for a slice. */
function contextIdentity(ref: ContextRef): string {
  return ref.slice ? `${ref.sha256}:${ref.slice.start}-${ref.slice.end}` : ref.sha256;
}

function engineOptions(services: RootProcessorServices, data: RootQueueJobData): EngineOptions {
  const given = data.options;
  const defaults = Object.fromEntries(
    Object.entries(services.defaults).filter(([, value]) => value !== undefined && value !== ""),
  );
  return resolveEngineOptions({
    ...defaults,
    ...given,
    limits: { cellTimeoutMs: QUEUE_CELL_TIMEOUT_MS, ...given.limits },
  });
}

/** How often sub-call counts are written to the record. */
const PROGRESS_FLUSH_MS = 250;

/**
 * Progress into the analysis record, the event stream and the BullMQ job. Iteration
 * events are written as they come; sub-call counts (hundreds per fan-out) are written
 * every 250 ms as one progress update. The counts are absolute and include replayed
 * calls: a machine rebuilt in another process replays every earlier call, so its counts
 * are the analysis's, even when the process that started a call died before it ended.
 */
function progressListener(reporter: AnalysisReporter, job: Job) {
  let subCallsStarted = 0;
  let subCallsDone = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    reporter.progress({ subCallsTotal: subCallsStarted, subCallsDone }).catch(() => undefined);
  };
  // Iteration events are written in a later task, in order: the engine emits them on its
  // way to the next model call, and building their Redis commands (a stream entry, the
  // record, BullMQ's progress) first held that call back by a millisecond or two.
  let queued: Array<() => void> = [];
  const writeQueued = () => {
    const writes = queued;
    queued = [];
    for (const write of writes) write();
  };
  const later = (write: () => void) => {
    if (queued.length === 0) setImmediate(writeQueued);
    queued.push(write);
  };
  return (event: RlmEvent) => {
    if (event.type === "subcall_start" || event.type === "subcall_end") {
      if (event.depth !== 0) return;
      if (event.type === "subcall_start") subCallsStarted += 1;
      else subCallsDone += 1;
      timer ??= setTimeout(flush, PROGRESS_FLUSH_MS);
      timer.unref?.();
      return;
    }
    if (timer) {
      clearTimeout(timer);
      later(flush);
    }
    later(() => reporter.engineEvent(event).catch(() => undefined));
    if (event.depth !== 0) return;
    if (event.type === "iteration_start" || event.type === "iteration_end") {
      const progress = {
        iteration: event.iteration,
        subCallsStarted,
        subCallsDone,
        ...(event.type === "iteration_end"
          ? {
              inputTokens: event.usage.inputTokens,
              outputTokens: event.usage.outputTokens,
              costUsd: event.usage.costUsd,
            }
          : {}),
      };
      later(() => job.updateProgress(progress).catch(() => undefined));
    }
  };
}

async function finish(
  services: RootProcessorServices,
  run: LiveRun,
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
  outcome: Extract<StepOutcome, { done: true }>,
): Promise<RootJobResult | SubCallJobResult> {
  const result = outcome.result;
  services.live.delete(job.id ?? job.data.analysisId);
  run.release();
  if (job.name === JobName.root) {
    if (reporter) await report(reporter, result);
    // Its calls still queued or running in this process are not wanted any more (a
    // budget ran out mid fan-out, say); other processes see the ended record.
    services.cancelWatch?.cancel(job.data.analysisId);
    return { analysisId: job.data.analysisId, finishReason: result.finishReason };
  }
  const nested = job.data as NestedJobData;
  if (result.finishReason === "cancelled") return cancelledResult();
  const record = nestedSubCall(
    { argumentsHash: "", query: nested.query, contextChars: nested.contextRef.chars },
    result,
    result.durationMs,
  );
  const journal = new RedisJournal({
    redis: services.redis,
    analysisId: nested.analysisId,
    prefix: services.prefix,
  });
  const stored = await journal.putIfAbsent(nested.journalKey, record);
  if (stored.kind !== "sub") throw new Error("journal holds a non sub-call record");
  services.callResults?.publish(nested.analysisId, nested.journalKey, stored);
  return subCallJobResult(stored);
}

/**
 * After waiting-children ended with calls still pending and no result in the journal,
 * a child failed for good (or vanished): the code gets an error for it instead of the
 * analysis waiting for ever.
 */
async function resolveLostChildren(
  services: RootProcessorServices,
  run: LiveRun,
  job: Job<RootQueueJobData>,
): Promise<void> {
  const placementScope =
    job.name === JobName.nested ? (job.data as NestedJobData).journalScope : "";
  for (const key of run.executor.pendingKeys()) {
    const childId =
      run.executor.jobIdOf(key) ?? childJobId(job.data.analysisId, placementScope + key);
    const child =
      (await services.llmQueue.getJob(childId)) ?? (await services.rootQueue.getJob(childId));
    const state = child ? await child.getState() : "missing";
    if (state === "failed" || state === "missing" || state === "completed") {
      const reason = child?.failedReason || `the sub-call job ${childId} is ${state}`;
      run.executor.failPending(key, reason);
    }
  }
  // A child that is still queued or running: wait for it in the next round.
  if (run.executor.pendingCount > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Records a top analysis's result and publishes its terminal event. */
async function report(reporter: AnalysisReporter, result: RlmResult): Promise<void> {
  // The last iteration's events are written in a later task (see progressListener): they
  // go out first, so the stream ends with them and then the terminal event.
  await new Promise((resolve) => setImmediate(resolve));
  if (result.finishReason === "cancelled") await reporter.cancelled(result);
  else if (result.finishReason === "error") await reporter.fail(errorOf(result), result);
  else await reporter.complete(result);
}

async function finishCancelled(
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
): Promise<RootJobResult | SubCallJobResult> {
  if (reporter) {
    await reporter.cancelled(undefined, "cancelled before it could resume");
    return { analysisId: job.data.analysisId, finishReason: "cancelled" };
  }
  return cancelledResult();
}

function errorOf(result: RlmResult): RlmError {
  return new RlmError(
    result.error?.code ?? "analysis_failed",
    result.error?.message ?? "the analysis failed",
    { retryable: result.error?.retryable ?? false },
  );
}

function cancelledResult(): SubCallJobResult {
  return subCallJobResult(
    failedSubCall(
      { argumentsHash: "", query: "", contextChars: 0 },
      { code: "cancelled", message: "the analysis was cancelled" },
    ),
  );
}
