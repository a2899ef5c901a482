import type { ModelClient, SandboxFactory } from "@rlm/core";
import type { PriceTable } from "@rlm/llm";
import type { Telemetry, Worker } from "bullmq";
import type { CollectGarbage } from "../documents/large-document.js";
import type { Observer, WorkerObservation } from "../observing/observations.js";
import type { WorkerEngineDefaults } from "../root-job/root-services.js";
import type { RlmConnection } from "../storage/redis-client.js";
import type { SubCallBatching } from "../sub-calls/overflow-jobs.js";

/** Which queues a worker process serves. */
export type WorkerRole = "root" | "llm";

/** Options of `startRlmWorker`. */
export interface RlmWorkerOptions {
  connection: RlmConnection;
  /** Key prefix, shared with producers (default `rlm`). */
  prefix?: string;
  /** Default: both. */
  roles?: WorkerRole[];
  /**
   * Work in progress at once: `root` analyses stepping (a root model call, a cell; a run
   * waiting for its sub-calls does not count, and the process holds up to 8 such runs per
   * slot: see `RootSlots`) and `llm` model calls, those its own runs start and those of
   * the LM jobs it takes.
   */
  concurrency?: { root?: number; llm?: number };
  /** The model endpoint (ignored for a role whose client is given below). */
  model?: {
    baseURL?: string;
    apiKey: string;
    timeoutMs?: number;
    maxAttempts?: number;
    /** USD per 1M tokens, merged over the built-in table (local or unlisted models). */
    prices?: PriceTable;
  };
  /** Client for root turns (default: OpenAI-compatible from `model`, retrying 429s itself). */
  rootModelClient?: ModelClient;
  /** Client for sub-calls (default: OpenAI-compatible from `model`, 429 → queue pause). */
  llmModelClient?: ModelClient;
  /**
   * Engine options used when a job does not set them (the worker's environment, say:
   * `RLM_MAX_ITERATIONS` for every analysis this worker runs without its own).
   */
  defaults?: WorkerEngineDefaults;
  /** Global request rate, across all workers: at most `max` model calls per `durationMs`. */
  limiter?: { max: number; durationMs: number };
  /**
   * How a root worker groups the plain sub-calls it has no call slot for into LM jobs
   * (default 1 call a job; see `SubCallBatching`).
   */
  batching?: Partial<SubCallBatching>;
  /**
   * Lock of an active job; a killed worker's job is picked up after about this long
   * plus `stalledIntervalMs`. Default 3000 / 1000 ms: recovery within about 4 s.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /**
   * How long a run that waits for child jobs only (LM jobs in other workers, nested
   * analyses) keeps its job, in ms. Default 10000. Past it the run gives the job up
   * (waiting-children; `runStats().parked`) and is rebuilt from the journal once they
   * end, in any worker: with a slow model a waiting run then keeps no slot another
   * analysis could use. Lower it for models whose calls take tens of seconds.
   */
  parkAfterMs?: number;
  /** Days analysis records, events and journals are kept after they end. Default 7. */
  retentionDays?: number;
  sandboxFactory?: SandboxFactory;
  /**
   * Plain sub-calls start in the process of the root run that issued them while it has
   * a call slot free (default true, for a process with both roles); only the others go
   * to `rlm-llm` as LM jobs. False sends every call through the queue.
   */
  eagerDispatch?: boolean;
  /** Recorded on each job as `processedBy` (Bull Board shows it). Default `host:pid`. */
  name?: string;
  /**
   * Garbage collections while a large document (8 MB or more) is loaded: `"minor"` (the
   * young generation) every 2 MB of its read, `"major"` (the whole heap) before it is
   * decoded and after the sandbox copy. Node's `gc` when the process runs with
   * `--expose-gc`, as `rlm worker` does: `exposedGarbageCollector()` (large-document.ts).
   * A function that ignores `kind` and always collects the whole heap works too, but
   * makes the read slower (see `large-document.ts`).
   *
   * Why: loading leaves about the document's size again in garbage (the socket chunks of
   * the read, the decoded text the sandbox copy was made from), which V8 frees only when
   * its heap next needs room, and a worker waiting on model calls rarely asks: measured
   * on a 10 MB document, peak RSS grew by about 4.7× the document without collections,
   * 2.7–3.3× with the two full ones, 2.5–2.7× with the read's young ones too. Costs two
   * full collections (~15 ms each here) and a scavenge (~1 ms) per 2 MB per large load.
   */
  collectGarbage?: CollectGarbage;
  /**
   * Told, as they happen, of every engine event of the runs in this process, of the
   * analyses that end here and of each try of a sub-call made here: what an app turns
   * into metrics (`rlm worker --metrics-port`). Called synchronously; must be quick.
   */
  observe?: Observer<WorkerObservation>;
  /**
   * BullMQ telemetry (bullmq-otel) for the queues this worker adds jobs to (LM jobs,
   * nested analyses): their producer spans. The runs' and calls' own spans need none:
   * they go through `@opentelemetry/api` and the job data (see `TraceCarrier`).
   */
  telemetry?: Telemetry;
}

/** A running worker process's queues; `close` drains them. */
export interface RlmWorker {
  /** The BullMQ workers: `rlm-root` (with a processor) and `rlm-llm` (fetching by hand). */
  readonly workers: Worker[];
  /**
   * What this process did: answers a run here took live as they were journaled
   * (`liveAnswers`), plain calls made here as their run issued them (`callsHere`), LM jobs
   * taken from the queue (`llmJobsTaken`; `llmJobsChained` of them with the completion of
   * the one before, in one round trip), runs rebuilt from the journal after an earlier run
   * of their job (`rebuilt`), and times a run gave its slot up (`parked`).
   */
  runStats(): {
    liveAnswers: number;
    callsHere: number;
    llmJobsTaken: number;
    llmJobsChained: number;
    rebuilt: number;
    parked: number;
  };
  /**
   * Stops taking jobs and waits for the jobs in progress, at most `timeoutMs` (default
   * 30 s); a run waiting for child jobs gives its slot up at once. Past the timeout,
   * remaining jobs are abandoned to be picked up by another worker (their completed steps
   * are journaled, so nothing is paid twice).
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}
