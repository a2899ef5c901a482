import { analysisMetrics } from "@rlm/api/metrics";
import type { RlmEvent } from "@rlm/core";
import type { RlmWorker, WorkerObservation } from "@rlm/queue";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import type { ModelCallMetrics } from "./observed-model-client.js";

/** Seconds a model call may take: a quick sub-call to a long root turn. */
const CALL_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

/** Seconds a cell may take (time awaiting sub-calls included). */
const CELL_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/** What `RlmWorker.runStats` counts, as counters read at each scrape. */
const RUN_STATS = {
  liveAnswers: ["rlm_live_answers_total", "Answers a run here took live, as they were journaled"],
  callsHere: [
    "rlm_calls_here_total",
    "Plain sub-calls made in the process of the run that issued them (no LM job)",
  ],
  llmJobsTaken: ["rlm_llm_jobs_taken_total", "LM jobs this process took from rlm-llm"],
  rebuilt: [
    "rlm_runs_rebuilt_total",
    "Runs built from the journal after an earlier run of their job (a resume, a crash): their REPL is rebuilt by replaying its cells",
  ],
  parked: [
    "rlm_runs_parked_total",
    "Times a run gave its job slot up to wait for its children (waiting-children)",
  ],
} as const;

/**
 * The metrics of one `rlm worker` process, on a registry of its own: the model calls of
 * its clients (`modelCalls`), what its runs did (`observe`, `startRlmWorker`'s observer),
 * the analyses that ended here, and its run statistics (`attach`), with Node's process
 * metrics. Counted where they happen: sum them over the workers.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly modelCalls: ModelCallMetrics;
  readonly observe: (observation: WorkerObservation) => void;
  #worker: RlmWorker | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const analyses = analysisMetrics(this.registry);
    const modelCalls = new Counter({
      name: "rlm_model_calls_total",
      help: "Model calls by requested model, role (root turns, sub-calls) and outcome (ok, or the error's code)",
      labelNames: ["model", "role", "outcome"] as const,
      registers,
    });
    const tokens = new Counter({
      name: "rlm_model_tokens_total",
      help: "Tokens of the model calls answered, by model, role and type (input, output, cached_input)",
      labelNames: ["model", "role", "type"] as const,
      registers,
    });
    const cost = new Counter({
      name: "rlm_model_cost_usd_total",
      help: "US dollars of the model calls answered (models with a known price)",
      labelNames: ["model", "role"] as const,
      registers,
    });
    const duration = new Histogram({
      name: "rlm_model_call_duration_seconds",
      help: "Duration of model calls, retries included",
      labelNames: ["model", "role"] as const,
      buckets: CALL_BUCKETS,
      registers,
    });
    const retries = new Counter({
      name: "rlm_model_retries_total",
      help: "Model call attempts that failed and were tried again by the client, by the error's code",
      labelNames: ["model", "role", "code"] as const,
      registers,
    });
    this.modelCalls = {
      called: (role, model, outcome, seconds) => {
        duration.observe({ model, role }, seconds);
        if ("code" in outcome) {
          modelCalls.inc({ model, role, outcome: outcome.code });
          return;
        }
        modelCalls.inc({ model, role, outcome: "ok" });
        const usage = outcome.response.usage;
        tokens.inc({ model, role, type: "input" }, usage.inputTokens);
        tokens.inc({ model, role, type: "output" }, usage.outputTokens);
        tokens.inc({ model, role, type: "cached_input" }, usage.cachedInputTokens);
        if (usage.costUsd !== null) cost.inc({ model, role }, usage.costUsd);
      },
      retried: (role, model, code) => retries.inc({ model, role, code }),
    };
    const engine = engineMetrics(this.registry);
    const tries = new Counter({
      name: "rlm_sub_call_tries_total",
      help: "Tries of plain sub-calls made here, for a run of this process (lane local) or an LM job (lane job), by outcome: answered, failed (journaled as the call's error, its code), retry, rate_limited (the queue paused), cancelled",
      labelNames: ["lane", "outcome", "code"] as const,
      registers,
    });
    const locksLost = new Counter({
      name: "rlm_root_locks_lost_total",
      help: "Root jobs whose lock this worker could not renew (stalled process, Redis lost the key): their runs stopped and the jobs run again from their journals",
      registers,
    });
    this.observe = (observation) => {
      if (observation.type === "engine") engine(observation.event);
      else if (observation.type === "analysis_ended") analyses.ended(observation);
      else if (observation.type === "lock_lost") locksLost.inc();
      else {
        const { lane, outcome } = observation;
        tries.inc({ lane, outcome, code: observation.errorCode ?? "" });
      }
    };
    for (const [field, [name, help]] of Object.entries(RUN_STATS)) {
      const key = field as keyof typeof RUN_STATS;
      const worker = () => this.#worker;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const stats = worker()?.runStats();
          this.reset();
          if (stats) this.inc(stats[key]);
        },
      });
    }
  }

  /** Reads the worker's run statistics at each scrape from now on. */
  attach(worker: RlmWorker): void {
    this.#worker = worker;
  }
}

/** The engine's events as counters: sub-calls by source, cells, lost isolates, mismatches. */
function engineMetrics(registry: Registry): (event: RlmEvent) => void {
  const registers = [registry];
  const subCalls = new Counter({
    name: "rlm_sub_calls_total",
    help: "recursiveLm calls answered, by source: executed (a model call or a nested analysis), same_as (an identical call of the analysis, answered once), journal (replayed: no call made), and outcome",
    labelNames: ["source", "outcome"] as const,
    registers,
  });
  const cells = new Counter({
    name: "rlm_cells_total",
    help: "Code cells run, by outcome (ok, or error: the model's code failed)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const cellDuration = new Histogram({
    name: "rlm_cell_duration_seconds",
    help: "Duration of code cells, time awaiting their sub-calls included",
    buckets: CELL_BUCKETS,
    registers,
  });
  const lost = new Counter({
    name: "rlm_sandboxes_lost_total",
    help: "Cells that lost their isolate (memory limit, runaway code): the next cell rebuilds the REPL by replaying the earlier ones",
    registers,
  });
  const mismatches = new Counter({
    name: "rlm_replay_mismatches_total",
    help: "Replayed cells that asked for a sub-call their first run did not make (non-deterministic code)",
    registers,
  });
  return (event) => {
    switch (event.type) {
      case "subcall_end": {
        const source = event.replayed ? "journal" : event.sameAs ? "same_as" : "executed";
        subCalls.inc({ source, outcome: event.error === undefined ? "ok" : "error" });
        return;
      }
      case "cell_end":
        cells.inc({ outcome: event.error === undefined ? "ok" : "error" });
        cellDuration.observe(event.durationMs / 1000);
        if (event.sandboxLost) lost.inc();
        return;
      case "replay_mismatch":
        mismatches.inc();
        return;
      default:
        return;
    }
  };
}
