import { randomUUID } from "node:crypto";
import {
  AnalysisMachine,
  type EngineOptions,
  type EngineOptionsInput,
  InvalidOptionsError,
  type JsonObject,
  type Journal,
  MemoryJournal,
  type ModelClient,
  type RlmContext,
  RlmError,
  type RlmEventListener,
  type RlmResult,
  resolveEngineOptions,
  type SandboxFactory,
  schemaValidator,
  validateAnalysisInput,
} from "@rlm/core";
import { createOpenAIModelClient, type PriceTable } from "@rlm/llm";
import { createIsolatedVmSandboxFactory } from "@rlm/sandbox";
import { RlmSession } from "./rlm-session.js";

/** Options of an `Rlm`: the engine's options plus where the models are. */
export interface RlmOptions extends EngineOptionsInput {
  /** OpenAI-compatible endpoint, e.g. `http://localhost:11434/v1` for Ollama. */
  baseURL?: string;
  /** API key of the endpoint. Required unless `modelClient` is given. */
  apiKey?: string;
  /** Per-attempt timeout of a model call. */
  timeoutMs?: number;
  /** Attempts per model call (retries on 429/5xx/timeouts). */
  maxAttempts?: number;
  /**
   * USD per 1M tokens by model, merged over the built-in table: prices for local or
   * unlisted models, so that `usage.costUsd` and `budgets.maxCostUsd` count them.
   */
  prices?: PriceTable;
  /** Use this model client instead of the OpenAI-compatible one. */
  modelClient?: ModelClient;
  /** Use this sandbox factory instead of isolated-vm. */
  sandboxFactory?: SandboxFactory;
}

/** Per-call settings of `completion`. */
export interface CompletionOptions {
  signal?: AbortSignal;
  onEvent?: RlmEventListener;
  /**
   * Journal to run over. Running again over the journal of an earlier run (with the same
   * `analysisId`) replays it: same REPL state and answer, no model call repeated.
   */
  journal?: Journal;
  /** Identity of the analysis (seeds the REPL's Date/Math.random). Default: random. */
  analysisId?: string;
  /**
   * Where the REPL's `Date` starts (epoch ms). Default: now, for an analysis on a journal
   * of its own; over a given `journal` (which may be replayed), an instant derived from
   * `analysisId`, unless this is given: pass the first run's start to every run of it.
   */
  clockStartMs?: number;
  /**
   * A JSON Schema the answer must match (over the constructor's `outputSchema`): the
   * model is told it, a FINAL value that does not match goes back to it with the
   * validator's messages, and `result.output` holds the validated value.
   */
  outputSchema?: JsonObject;
}

/**
 * A Recursive Language Model, in process: `new Rlm(options).completion(query, context)`.
 * Options are validated once, in the constructor.
 */
export class Rlm {
  private readonly options: EngineOptions;
  private readonly model: ModelClient;
  private readonly sandboxFactory: SandboxFactory;

  constructor(options: RlmOptions = {}) {
    const {
      baseURL,
      apiKey,
      timeoutMs,
      maxAttempts,
      prices,
      modelClient,
      sandboxFactory,
      ...engine
    } = options;
    this.options = resolveEngineOptions(engine);
    if (modelClient) {
      this.model = modelClient;
    } else {
      if (typeof apiKey !== "string" || apiKey.length === 0) {
        throw new InvalidOptionsError("invalid options: apiKey is required (or pass modelClient)");
      }
      this.model = createOpenAIModelClient({
        apiKey,
        ...(baseURL === undefined ? {} : { baseURL }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(maxAttempts === undefined ? {} : { retry: { maxAttempts } }),
        ...(prices === undefined ? {} : { prices }),
      });
    }
    this.sandboxFactory = sandboxFactory ?? createIsolatedVmSandboxFactory();
  }

  /**
   * Answers `query` over `context`. Resolves with the result object even when the
   * analysis ends early (`finishReason` `budget`, `cancelled` or `error`, with `error`
   * set); rejects only for invalid input (code `invalid_input`).
   */
  async completion(
    query: string,
    context: RlmContext,
    call: CompletionOptions = {},
  ): Promise<RlmResult> {
    validateAnalysisInput(query, context);
    // Checked (compiled) before anything runs: an invalid schema is the caller's error.
    if (call.outputSchema !== undefined) schemaValidator(call.outputSchema);
    const outputSchema = call.outputSchema ?? this.options.outputSchema;
    const machine = new AnalysisMachine({
      analysisId: call.analysisId ?? randomUUID(),
      // The REPL's `Date` starts now, unless the run may replay a journal: then every run
      // of it must start the clock at the same instant.
      ...(call.clockStartMs !== undefined
        ? { clockStartMs: call.clockStartMs }
        : call.journal === undefined
          ? { clockStartMs: Date.now() }
          : {}),
      query,
      context,
      options: {
        ...this.options,
        signal: call.signal ?? this.options.signal,
        onEvent: call.onEvent ?? this.options.onEvent,
        outputSchema,
      },
      runtime: {
        model: this.model,
        sandboxFactory: this.sandboxFactory,
        journal: call.journal ?? new MemoryJournal(),
      },
    });
    try {
      return await machine.run();
    } finally {
      machine.dispose();
    }
  }

  /**
   * A session over `context`: questions that share one REPL (the variables earlier
   * questions defined, and `history` of their queries and answers) and one loaded copy of
   * the document. Close it when done.
   */
  session(context: RlmContext): RlmSession {
    validateAnalysisInput("session", context);
    return new RlmSession(
      { options: this.options, model: this.model, sandboxFactory: this.sandboxFactory },
      context,
    );
  }
}

/** Function form: `rlmCompletion(query, context, options)`. */
export function rlmCompletion(
  query: string,
  context: RlmContext,
  options: RlmOptions & CompletionOptions = {},
): Promise<RlmResult> {
  const { journal, analysisId, signal, onEvent, clockStartMs, outputSchema, ...rest } = options;
  return new Rlm(rest).completion(query, context, {
    ...(journal === undefined ? {} : { journal }),
    ...(analysisId === undefined ? {} : { analysisId }),
    ...(signal === undefined ? {} : { signal }),
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(clockStartMs === undefined ? {} : { clockStartMs }),
    ...(outputSchema === undefined ? {} : { outputSchema }),
  });
}

export { RlmError };
