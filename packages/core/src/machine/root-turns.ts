import type { RootCallRecord } from "../journal.js";
import type { ModelClient } from "../model.js";
import { callModelWithin } from "../model-call-within.js";
import type { EngineOptions } from "../options.js";
import type { RunControl } from "../run-control.js";
import { inSpan, SpanAttributes, SpanNames, setUsageAttributes } from "../tracing.js";
import type { UsageTracker } from "../usage.js";
import type { AnalysisProgress } from "./analysis-progress.js";
import { asRoot } from "./cell-records.js";
import type { JournalPolicy } from "./journal-policy.js";
import type { Transcript } from "./transcript.js";

/** What the root turns need of their analysis. */
export interface RootTurnServices {
  analysisId: string;
  model: ModelClient;
  options: Pick<EngineOptions, "rootModel" | "maxOutputTokens" | "streamRootTurns" | "onEvent">;
  journal: JournalPolicy;
  control: RunControl;
  usage: UsageTracker;
  /** The conversation a turn sends, and the iteration its span and events name. */
  transcript: Readonly<Pick<Transcript, "iteration" | "messages">>;
  progress: AnalysisProgress;
}

/**
 * The analysis's turns with the root model: each taken from the journal when an earlier
 * run of the analysis had its answer, else asked of the model and journaled before it is
 * used.
 */
export class RootTurns {
  readonly #services: RootTurnServices;

  constructor(services: RootTurnServices) {
    this.#services = services;
  }

  /**
   * A root-model turn: from the journal when it was already answered, else from the model
   * (`sent` is told once the request is on its way).
   */
  call(key: string, sent?: () => void): Promise<RootCallRecord> {
    const { options, transcript } = this.#services;
    const attributes = {
      ...this.#services.progress.spanAttributes(),
      [SpanAttributes.iteration]: transcript.iteration,
      [SpanAttributes.turn]: key,
      [SpanAttributes.requestModel]: options.rootModel,
    };
    return inSpan(SpanNames.rootTurn, attributes, async (span) => {
      const record = await this.#ask(key, sent, () => {
        span.setAttribute(SpanAttributes.replayed, true);
      });
      setUsageAttributes(span, record.usage, [record.model]);
      return record;
    });
  }

  /** `call` without its span; `replayed` is told when the journal had the turn. */
  async #ask(
    key: string,
    sent: (() => void) | undefined,
    replayed: () => void,
  ): Promise<RootCallRecord> {
    const { journal, control, usage, options, transcript, progress } = this.#services;
    const existing = await journal.lookUp(key);
    if (existing?.kind === "root") {
      usage.recordReplayed({ [existing.model]: existing.usage }, 1);
      replayed();
      return existing;
    }
    journal.markPast();
    control.checkBeforeModelCall();
    const messages = transcript.messages.map((message) => ({ ...message }));
    const model = this.#services.model;
    const call = callModelWithin(control, model, {
      model: options.rootModel,
      messages,
      signal: control.signal,
      analysisId: this.#services.analysisId,
      ...(options.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: options.maxOutputTokens }),
      ...(options.streamRootTurns && options.onEvent
        ? {
            onDelta: ({ receivedChars }: { receivedChars: number }) =>
              progress.emit({
                type: "root_delta",
                depth: progress.depth,
                iteration: transcript.iteration,
                receivedChars,
              }),
          }
        : {}),
      ...(sent && model.reportsSent ? { onSent: sent } : {}),
    });
    if (!model.reportsSent) sent?.();
    const response = await call;
    usage.record(response.model, response.usage);
    await journal.settle();
    const record: RootCallRecord = {
      kind: "root",
      content: response.content,
      model: response.model,
      usage: response.usage,
      durationMs: response.durationMs,
    };
    return asRoot(await journal.put(key, record));
  }
}
