import {
  AnalysisMachine,
  CancelledError,
  type EngineOptions,
  type Sandbox,
  type SandboxDocument,
  type SandboxFactory,
  type RlmEvent,
  type StepOutcome,
} from "@rlm/core";
import type { Job } from "bullmq";
import type { AnalysisReporter } from "../analyses/analysis-reporter.js";
import type { LoadedDocument } from "../documents/document-cache.js";
import { DocumentSlices } from "../documents/document-slices.js";
import { isNestedJobData, type RootQueueJobData } from "../jobs/job-types.js";
import type { SessionStart } from "../sessions/session-question.js";
import { notify } from "../observing/observations.js";
import { RedisJournal } from "../storage/redis-journal.js";
import { QueueSubCallExecutor } from "../sub-calls/queue-sub-call-executor.js";
import { progressListener } from "./progress-listener.js";
import { engineOptions, type RootProcessorServices } from "./root-services.js";
import { contextIdentity, releaseSources, type RunSources } from "./run-sources.js";

/**
 * An analysis run live in this process while its job holds a root slot: its machine, the
 * executor of its sub-calls, and what it holds (its document, its isolate, its place in
 * the answers and stop notices). It ends with its job's run in this process: when the job
 * gives its slot up (waiting-children) or fails, a later start of the job, here or in
 * another process, builds a new run from the journal.
 */
export interface RootRun {
  machine: AnalysisMachine;
  executor: QueueSubCallExecutor;
  /** When the analysis began (see `RunSources.startedAt`). */
  startedAt: number;
  /** For a question of a session: its place, and the REPL it started from. */
  session?: SessionStart;
  /** The step in progress, if any. */
  step: Promise<StepOutcome> | undefined;
  /** Resolves once the progress and events heard so far are written. */
  eventsWritten(): Promise<void>;
  /** Releases the sandbox, the document and the run's listening (idempotent). */
  release(): void;
  /**
   * The job is no longer this run's (its lock was lost): aborts its model calls, rejects
   * the sub-calls it waits for with `reason` and releases it. Nothing more of it is
   * journaled: a cell still running is not, a root call aborted is not.
   */
  lose(reason: Error): void;
}

/**
 * Builds a run from what `sources` read. `rebuilt`: an earlier run of the job may have
 * journaled steps (the machine reads them) and added children (the executor checks).
 * `session`: the question's place in its session, and what its REPL starts from.
 */
export async function buildRun(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
  sources: Promise<RunSources>,
  rebuilt: boolean,
  session?: SessionStart,
): Promise<RootRun> {
  const data = job.data;
  const nested = isNestedJobData(data) ? data : undefined;
  let options: EngineOptions;
  try {
    options = engineOptions(services, data);
  } catch (error) {
    // Options that do not validate: the document read for the run goes back.
    await releaseSources(services, job, sources);
    throw error;
  }
  const documentKey = contextIdentity(data.contextRef);
  const { source, startedAt } = await sources;
  const journal = new RedisJournal({
    redis: services.redis,
    analysisId: data.analysisId,
    prefix: services.prefix,
  }).scope(nested?.journalScope ?? "");
  const abort = new AbortController();
  const holder: { sandbox?: Sandbox } = {};
  const executor = new QueueSubCallExecutor({
    placement: {
      analysisId: data.analysisId,
      journalScope: nested?.journalScope ?? "",
      options: data.options,
      subModel: options.subModel,
      maxOutputTokens: options.maxOutputTokens,
      depth: data.depth,
    },
    journal,
    contexts: services.contexts,
    rootQueue: services.rootQueue,
    llmQueue: services.llmQueue,
    lane: services.lane,
    rebuilt,
    sandboxIdle: () =>
      holder.sandbox && !holder.sandbox.disposed ? holder.sandbox.idle() : Promise.resolve(),
    ...(services.batching ? { batching: services.batching } : {}),
  });
  executor.attach(job);
  // Its calls may be answered in other processes: listen before any is sent.
  executor.listenEverywhere();
  // Stopped once the analysis is cancelled or has ended (for a nested run: the top one,
  // a budget spent there or an answer found), whoever saw it first.
  const stop = services.cancelWatch?.hold(data.analysisId);
  const onStop = () => {
    abort.abort(new CancelledError());
    executor.rejectAll(new CancelledError());
  };
  if (stop?.signal.aborted) onStop();
  else stop?.signal.addEventListener("abort", onStop, { once: true });
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
    loading ??= services.documents
      .acquire(documentKey, () => services.contexts.readDocument(data.contextRef))
      .then(
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
  const sandboxFactory: SandboxFactory = {
    loadDocument: (value) => services.sandboxFactory.loadDocument(value),
    create: async (sandboxOptions) => {
      const sandbox = await services.sandboxFactory.create(sandboxOptions);
      holder.sandbox = sandbox;
      return sandbox;
    },
  };
  const progress = reporter ? progressListener(reporter, job) : undefined;
  const onEvent = observedEvents(services, data.analysisId, progress?.onEvent);
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
      journal: executor.observe(journal),
      subCalls: executor,
    },
    depth: data.depth,
    // A top analysis on its job's first start has nothing journaled yet: its first turn
    // is not looked up. (Not a nested one: a job of the same id may have run before.)
    firstRun: !nested && !rebuilt,
    ...("loaded" in source ? { document: source.loaded.document } : {}),
    // The deadline counts from when the analysis began, in every run of it. A top
    // analysis's REPL clock starts there too; a nested one keeps the default (derived
    // from its seed), as journals written before it expect.
    startedAt,
    ...(nested ? {} : { clockStartMs: startedAt }),
    ...(session ? { session: session.prelude } : {}),
  });
  return {
    machine,
    executor,
    startedAt,
    ...(session ? { session } : {}),
    step: undefined,
    eventsWritten: () => progress?.written() ?? Promise.resolve(),
    release,
    lose: (reason) => {
      if (released) return;
      // All in this task: what the abort and the rejections wake runs after the release,
      // so a cell that ends on them is nobody's (not journaled), and the model call's
      // reason is the lost lock, not the release's cancel.
      abort.abort(reason);
      release();
      executor.rejectAll(reason);
    },
  };

  function release(): void {
    if (released) return;
    released = true;
    stop?.signal.removeEventListener("abort", onStop);
    stop?.release();
    machine.dispose();
    executor.close();
    unhold();
    if (acquired) services.documents.release(documentKey);
  }
}

/** The run's event listener: its progress writer and the worker's observer, either or both. */
function observedEvents(
  services: RootProcessorServices,
  analysisId: string,
  progress: ((event: RlmEvent) => void) | undefined,
): ((event: RlmEvent) => void) | undefined {
  const observe = services.observe;
  if (!observe) return progress;
  return (event) => {
    progress?.(event);
    // Per-token progress is for displays, not metrics.
    if (event.type !== "root_delta") notify(observe, { type: "engine", analysisId, event });
  };
}
