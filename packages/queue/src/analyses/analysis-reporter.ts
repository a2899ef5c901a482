import { type RlmError, type RlmEvent, type RlmResult, toRlmError } from "@rlm/core";
import type { Redis } from "ioredis";
import { type AnalysisEvent, AnalysisEvents } from "./analysis-events.js";
import { AnalysisStore, type TransitionOutcome } from "./analysis-store.js";
import type { AnalysisError, AnalysisProgress } from "./analysis-types.js";
import { DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, redisKeys } from "../storage/keys.js";

/** Options of an `AnalysisReporter`. */
export interface AnalysisReporterOptions {
  redis: Redis;
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
  private readonly redis: Redis;
  private readonly store: AnalysisStore;
  private readonly events: AnalysisEvents;
  private readonly journalKey: string;
  private readonly retentionSeconds: number;

  constructor(options: AnalysisReporterOptions) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.analysisId = options.analysisId;
    this.redis = options.redis;
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_TTL_SECONDS;
    const shared = { redis: options.redis, prefix, ttlSeconds: this.retentionSeconds };
    this.store = new AnalysisStore(shared);
    this.events = new AnalysisEvents(shared);
    this.journalKey = redisKeys(prefix).journal(options.analysisId);
  }

  /** The worker started (or resumed) the root loop. False if the analysis already ended. */
  async running(): Promise<boolean> {
    return this.setStatus("running");
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
    switch (event.type) {
      case "iteration_start":
        await this.publish({ type: "iteration", engine: event });
        if (event.depth === 0) {
          await this.store.updateProgress(this.analysisId, {
            set: { iteration: event.iteration, maxIterations: event.maxIterations },
          });
        }
        return;
      case "iteration_end":
        // The progress first: a follower that prints a line per iteration end then has
        // the iteration's usage and sub-call counts when the event reaches it.
        if (event.depth === 0) {
          await this.store.updateProgress(this.analysisId, {
            set: {
              inputTokens: event.usage.inputTokens,
              outputTokens: event.usage.outputTokens,
              costUsd: event.usage.costUsd,
            },
          });
        }
        await this.publish({ type: "iteration", engine: event });
        return;
      case "cell_end":
        await this.publish({ type: "iteration", engine: event });
        return;
      case "subcall_start":
        // Queries can be long; the event stream is for watching, not for replay.
        await this.publish({
          type: "subcall",
          engine: { ...event, query: truncate(event.query, 200) },
        });
        // A replayed call (rebuild after a resume elsewhere) was counted the first time.
        if (!event.replayed) {
          await this.store.updateProgress(this.analysisId, { add: { subCallsTotal: 1 } });
        }
        return;
      case "subcall_end":
        await this.publish({ type: "subcall", engine: event });
        if (!event.replayed) {
          await this.store.updateProgress(this.analysisId, { add: { subCallsDone: 1 } });
        }
        return;
      case "replay_mismatch":
        // Worth seeing in the stream (and the viewer): the code is not deterministic.
        await this.publish({ type: "iteration", engine: event });
        return;
    }
  }

  /** Publishes an event without touching the record. */
  async publish(event: AnalysisEvent): Promise<string> {
    return this.events.publish(this.analysisId, event);
  }

  /** Records the result, marks the analysis `completed` and publishes `completed`. */
  async complete(result: RlmResult): Promise<boolean> {
    await this.recordUsage(result);
    const transition = this.store.transition(this.analysisId, {
      status: "completed",
      result,
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
    return this.ended(transition);
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
    if (result) await this.recordUsage(result);
    return this.ended(
      this.store.transition(this.analysisId, {
        status: "failed",
        error: recorded,
        ...(result ? { result } : {}),
        event: { type: "failed", error: recorded },
      }),
    );
  }

  /**
   * Marks the analysis `cancelled` and publishes `cancelled`, keeping the partial
   * result if the engine produced one (`finishReason: "cancelled"`).
   */
  async cancelled(result?: RlmResult, reason?: string): Promise<boolean> {
    return this.ended(
      this.store.transition(this.analysisId, {
        status: "cancelled",
        ...(result ? { result } : {}),
        event: { type: "cancelled", ...(reason ? { reason } : {}) },
      }),
    );
  }

  /** True once a producer asked to cancel; poll it between steps. */
  async isCancelRequested(): Promise<boolean> {
    return this.store.isCancelRequested(this.analysisId);
  }

  /**
   * The final usage into the progress. First, and answered before the terminal transition
   * is sent: the progress script refuses a terminal record, and a script Redis has
   * forgotten (NOSCRIPT) is sent again later, so two scripts sent together could run in
   * the other order.
   */
  private async recordUsage(result: RlmResult): Promise<void> {
    await this.store.updateProgress(this.analysisId, {
      set: {
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        costUsd: result.usage.costUsd,
      },
      publish: false,
    });
  }

  private async setStatus(status: "running" | "waiting"): Promise<boolean> {
    const outcome = await this.store.transition(this.analysisId, {
      status,
      event: { type: "status", status },
    });
    return outcome === "updated";
  }

  /**
   * A terminal change: the journal gets the same retention as record and events, in the
   * same round trip. (When the change is refused, the analysis had ended already and its
   * journal got that retention then: setting it again changes nothing.)
   */
  private async ended(transition: Promise<TransitionOutcome>): Promise<boolean> {
    const retention = this.redis.expire(this.journalKey, this.retentionSeconds);
    const [outcome] = await Promise.all([transition, retention]);
    return outcome === "updated";
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
