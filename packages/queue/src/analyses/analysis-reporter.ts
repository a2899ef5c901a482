import { type RlmError, type RlmEvent, type RlmResult, toRlmError } from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import { type AnalysisEvent, AnalysisEvents } from "./analysis-events.js";
import { AnalysisStore, type ReportEntry, type TransitionOutcome } from "./analysis-store.js";
import type { AnalysisError, AnalysisProgress } from "./analysis-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS } from "../storage/keys.js";

/** Options of an `AnalysisReporter`. */
export interface AnalysisReporterOptions {
  redis: RedisClient;
  analysisId: string;
  /** Key prefix (default `rlm`). */
  prefix?: string;
  /** How long record, events and journal stay after the analysis ends. Default 7 days. */
  retentionSeconds?: number;
}

/**
 * What a worker tells the outside world about one analysis, in one place: each method
 * updates the record and publishes the matching event atomically. Terminal states are
 * final: `complete`, `fail` and `cancelled` return false (and publish nothing) when
 * the analysis had already ended, e.g. cancelled while its last step ran.
 */
export class AnalysisReporter {
  readonly analysisId: string;
  private readonly store: AnalysisStore;
  private readonly events: AnalysisEvents;

  constructor(options: AnalysisReporterOptions) {
    this.analysisId = options.analysisId;
    const shared = {
      redis: options.redis,
      prefix: options.prefix ?? DEFAULT_PREFIX,
      ttlSeconds: options.retentionSeconds ?? DEFAULT_TTL_SECONDS,
    };
    this.store = new AnalysisStore(shared);
    this.events = new AnalysisEvents(shared);
  }

  /** The worker started (or resumed) the root loop. False if the analysis already ended. */
  async running(): Promise<boolean> {
    return this.setStatus("running");
  }

  /**
   * A worker starts (or resumes) the analysis: `running` unless it has ended already, or
   * a cancel was requested while it was queued (then nothing is changed).
   */
  async start(): Promise<"running" | "ended" | "cancel_requested"> {
    const outcome = await this.store.transition(this.analysisId, {
      status: "running",
      refuseIfCancelRequested: true,
      event: { type: "status", status: "running" },
    });
    if (outcome === "updated") return "running";
    return outcome === "cancel_requested" ? "cancel_requested" : "ended";
  }

  /** The root waits for its sub-call jobs (holding no worker slot). */
  async waiting(): Promise<boolean> {
    return this.setStatus("waiting");
  }

  /** Sets progress fields; publishes the merged progress. */
  async progress(set: Partial<AnalysisProgress>): Promise<AnalysisProgress | null> {
    return this.store.updateProgress(this.analysisId, { set });
  }

  /**
   * Publishes an engine event and keeps the progress counters in step: iteration
   * number and usage from the root's iteration events, sub-call counts at any depth.
   * Meant to be called from the engine's `onEvent` (it returns a promise the listener
   * may ignore: failures only lose a progress update).
   */
  async engineEvent(event: RlmEvent): Promise<void> {
    await this.report(reportEntries(event));
  }

  /** Writes events and progress, in order, in one step (see `AnalysisStore.report`). */
  async report(entries: readonly ReportEntry[]): Promise<void> {
    await this.store.report(this.analysisId, entries);
  }

  /** Publishes an event without touching the record. */
  async publish(event: AnalysisEvent): Promise<string> {
    return this.events.publish(this.analysisId, event);
  }

  /** Records the result, marks the analysis `completed` and publishes `completed`. */
  async complete(result: RlmResult): Promise<boolean> {
    const transition = this.store.transition(this.analysisId, {
      status: "completed",
      result,
      progress: usageOf(result),
      expireJournal: true,
      event: {
        type: "completed",
        answer: result.answer,
        finishReason: result.finishReason,
        iterations: result.iterations,
        totalCalls: result.totalCalls,
        usage: result.usage,
        durationMs: result.durationMs,
      },
    });
    return ended(transition);
  }

  /**
   * Records the error, marks the analysis `failed` and publishes `failed`, keeping the
   * partial result when the engine produced one (`finishReason: "error"`): its history
   * and the usage already paid for stay readable.
   */
  async fail(error: unknown, result?: RlmResult): Promise<boolean> {
    const rlmError: RlmError = toRlmError(error);
    const recorded: AnalysisError = {
      code: rlmError.code,
      message: rlmError.message,
      retryable: rlmError.retryable,
    };
    return ended(
      this.store.transition(this.analysisId, {
        status: "failed",
        error: recorded,
        ...(result ? { result, progress: usageOf(result) } : {}),
        expireJournal: true,
        event: { type: "failed", error: recorded },
      }),
    );
  }

  /**
   * Marks the analysis `cancelled` and publishes `cancelled`, keeping the partial
   * result if the engine produced one (`finishReason: "cancelled"`).
   */
  async cancelled(result?: RlmResult, reason?: string): Promise<boolean> {
    return ended(
      this.store.transition(this.analysisId, {
        status: "cancelled",
        ...(result ? { result } : {}),
        expireJournal: true,
        event: { type: "cancelled", ...(reason ? { reason } : {}) },
      }),
    );
  }

  /** True once a producer asked to cancel; poll it between steps. */
  async isCancelRequested(): Promise<boolean> {
    return this.store.isCancelRequested(this.analysisId);
  }

  private async setStatus(status: "running" | "waiting"): Promise<boolean> {
    const outcome = await this.store.transition(this.analysisId, {
      status,
      event: { type: "status", status },
    });
    return outcome === "updated";
  }
}

/**
 * The final usage into the progress, with the terminal change: the journal gets the same
 * retention as record and events in that change too (when the change is refused, the
 * analysis had ended already and its journal got that retention then).
 */
function usageOf(result: RlmResult): Partial<AnalysisProgress> {
  return {
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    costUsd: result.usage.costUsd,
  };
}

async function ended(transition: Promise<TransitionOutcome>): Promise<boolean> {
  return (await transition) === "updated";
}

/**
 * What an engine event says in the stream and the record, in order: iteration number and
 * usage from the root's iteration events (the usage before an iteration's end, so a
 * follower printing a line per end has it), sub-call counts at any depth.
 */
export function reportEntries(event: RlmEvent): ReportEntry[] {
  switch (event.type) {
    case "iteration_start":
      return [
        { event: { type: "iteration", engine: event } },
        ...(event.depth === 0
          ? [
              {
                progress: {
                  set: { iteration: event.iteration, maxIterations: event.maxIterations },
                },
              },
            ]
          : []),
      ];
    case "iteration_end":
      return [
        ...(event.depth === 0
          ? [
              {
                progress: {
                  set: {
                    inputTokens: event.usage.inputTokens,
                    outputTokens: event.usage.outputTokens,
                    costUsd: event.usage.costUsd,
                  },
                },
              },
            ]
          : []),
        { event: { type: "iteration", engine: event } },
      ];
    case "cell_end":
    case "replay_mismatch":
      // A replay mismatch is worth seeing in the stream (and the viewer): the code is
      // not deterministic.
      return [{ event: { type: "iteration", engine: event } }];
    case "subcall_start":
      return [
        // Queries can be long; the event stream is for watching, not for replay.
        { event: { type: "subcall", engine: { ...event, query: truncate(event.query, 200) } } },
        // A replayed call (rebuild after a resume elsewhere) was counted the first time.
        ...(event.replayed ? [] : [{ progress: { add: { subCallsTotal: 1 } } }]),
      ];
    case "subcall_end":
      return [
        { event: { type: "subcall", engine: event } },
        ...(event.replayed ? [] : [{ progress: { add: { subCallsDone: 1 } } }]),
      ];
    default:
      return [];
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
