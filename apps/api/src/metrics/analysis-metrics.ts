import type { AnalysisEnded, ProducerObservation } from "@rlm/queue";
import { Counter, Histogram, type Registry } from "prom-client";

/**
 * The analyses' metrics, counted by the process that made each change: the API (or any
 * producer) for an analysis enqueued or cancelled while queued, the worker whose run
 * ended it for the others. Summed over every process they are exact: each analysis ends
 * in exactly one of them.
 */
export interface AnalysisMetrics {
  /** For `RlmQueueClient`'s `observe`. */
  producer(observation: ProducerObservation): void;
  /** An analysis that ended (from a producer or a worker). */
  ended(observation: AnalysisEnded): void;
}

/** Seconds an analysis may take: from a quick answer to an hour-long fan-out. */
const DURATION_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600];

/** US dollars an analysis may cost. */
const COST_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50];

/** Registers the analyses' metrics on `registry`. */
export function analysisMetrics(registry: Registry): AnalysisMetrics {
  const registers = [registry];
  const enqueued = new Counter({
    name: "rlm_analyses_enqueued_total",
    help: "Analyses enqueued by this process; deduplicated: an Idempotency-Key already bound, nothing new enqueued",
    labelNames: ["deduplicated"] as const,
    registers,
  });
  const finished = new Counter({
    name: "rlm_analyses_finished_total",
    help: "Analyses that ended by this process's change of their record, by status and finish reason (none: ended without a result)",
    labelNames: ["status", "finish_reason"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "rlm_analysis_duration_seconds",
    help: "Duration of the analyses that ended here, from enqueue to end, across resumes",
    labelNames: ["status"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const cost = new Histogram({
    name: "rlm_analysis_cost_usd",
    help: "Cost in US dollars of the analyses that ended here (those with a known price)",
    labelNames: ["status"] as const,
    buckets: COST_BUCKETS,
    registers,
  });
  const ended = (observation: AnalysisEnded) => {
    const { status } = observation;
    finished.inc({ status, finish_reason: observation.finishReason ?? "none" });
    if (observation.durationMs !== undefined) {
      duration.observe({ status }, observation.durationMs / 1000);
    }
    if (typeof observation.costUsd === "number") cost.observe({ status }, observation.costUsd);
  };
  return {
    producer(observation) {
      if (observation.type === "analysis_enqueued") {
        enqueued.inc({ deduplicated: String(observation.deduplicated) });
      } else ended(observation);
    },
    ended,
  };
}
