import { z } from "zod";
import { InvalidOptionsError } from "./errors.js";
import type { RlmEventListener } from "./events.js";
import type { SandboxLimits } from "./sandbox.js";
import type { JsonObject } from "./context.js";
import { schemaValidator } from "./structured/json-schema.js";

/** Budgets shared by an analysis and every nested analysis below it. */
export interface RlmBudgets {
  /** Most `recursiveLm` calls in the whole analysis tree. */
  maxSubCalls?: number;
  /** Most input + output tokens across all model calls. */
  maxTokens?: number;
  /** Most US dollars across all model calls (models with unknown price count 0). */
  maxCostUsd?: number;
  /** Wall-clock deadline for the analysis, in milliseconds from its start. */
  deadlineMs?: number;
}

/** Engine options as the caller gives them; every field has a default. */
export interface EngineOptionsInput {
  rootModel?: string;
  /** Model for sub-calls; defaults to the root model. */
  subModel?: string;
  /** Root iterations before the model is asked for its best answer. Default 10. */
  maxIterations?: number;
  /** Recursion depth: a `recursiveLm` at depth + 1 < maxDepth is a nested RLM. Default 1. */
  maxDepth?: number;
  /** Model calls in flight at once for one analysis (its whole tree). Default 8. */
  subConcurrency?: number;
  limits?: Partial<SandboxLimits>;
  budgets?: RlmBudgets;
  /** Characters of the context's head and tail shown to the root model. Default 600 each. */
  previewChars?: number;
  /** Largest output the root model may write in one turn, in tokens. */
  maxOutputTokens?: number;
  /**
   * Streams root turns (when the client can) and reports the answer arriving as
   * `root_delta` events, for a progress display. Default false.
   */
  streamRootTurns?: boolean;
  /**
   * A JSON Schema the answer must match: the model is told it, a FINAL value is parsed
   * and validated (a mismatch goes back to the model), and `result.output` holds it.
   */
  outputSchema?: JsonObject;
  signal?: AbortSignal;
  onEvent?: RlmEventListener;
}

/** Engine options after validation, with defaults applied. */
export interface EngineOptions {
  rootModel: string;
  subModel: string;
  maxIterations: number;
  maxDepth: number;
  subConcurrency: number;
  limits: SandboxLimits;
  budgets: RlmBudgets;
  previewChars: number;
  maxOutputTokens: number | undefined;
  outputSchema: JsonObject | undefined;
  streamRootTurns: boolean;
  signal: AbortSignal | undefined;
  onEvent: RlmEventListener | undefined;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  cellTimeoutMs: 60_000,
  cellCpuMs: 20_000,
  memoryMb: 512,
  outputChars: 20_000,
  answerChars: 1_000_000,
  maxPendingSubCalls: 1_000,
  // Far beyond any model's window, yet a tenth of a 1 GB document per call; below V8's
  // longest string (2^29 − 24 characters), past which building the call itself fails.
  subCallChars: 100_000_000,
};

const positiveInt = z.number().int().positive();

const schema = z
  .object({
    rootModel: z.string().min(1).default("gpt-4.1-mini"),
    subModel: z.string().min(1).optional(),
    maxIterations: positiveInt.max(1000).default(10),
    maxDepth: positiveInt.max(10).default(1),
    subConcurrency: positiveInt.max(1000).default(8),
    // Upper bounds keep one request (e.g. through the HTTP API) from asking a worker for a
    // 100 GB isolate or hours of CPU per cell.
    limits: z
      .object({
        cellTimeoutMs: positiveInt.max(3_600_000).optional(),
        cellCpuMs: positiveInt.max(600_000).optional(),
        memoryMb: positiveInt.min(16).max(8_192).optional(),
        outputChars: positiveInt.min(100).max(1_000_000).optional(),
        answerChars: positiveInt.min(100).max(100_000_000).optional(),
        maxPendingSubCalls: positiveInt.max(100_000).optional(),
        subCallChars: positiveInt.min(1_000).max(500_000_000).optional(),
      })
      .strict()
      .default({}),
    budgets: z
      .object({
        maxSubCalls: z.number().int().nonnegative().optional(),
        maxTokens: positiveInt.optional(),
        maxCostUsd: z.number().positive().optional(),
        // setTimeout's limit (about 24.8 days): a longer delay would fire at once.
        deadlineMs: positiveInt.max(2_147_483_647).optional(),
      })
      .strict()
      .default({}),
    previewChars: z.number().int().min(0).max(4000).default(600),
    maxOutputTokens: positiveInt.optional(),
    outputSchema: z.record(z.string(), z.unknown()).optional(),
    streamRootTurns: z.boolean().default(false),
  })
  // A typo (`maxIteration`) is an error, not a silently ignored option.
  .strict();

/** Validates options once and applies defaults. Throws InvalidOptionsError with every problem. */
export function resolveEngineOptions(input: EngineOptionsInput = {}): EngineOptions {
  const { signal, onEvent, ...data } = input;
  const parsed = schema.safeParse(stripUndefined(data));
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join(".") || "options"}: ${issue.message}`)
      .join("; ");
    throw new InvalidOptionsError(`invalid options: ${problems}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionsError("invalid options: signal must be an AbortSignal");
  }
  if (onEvent !== undefined && typeof onEvent !== "function") {
    throw new InvalidOptionsError("invalid options: onEvent must be a function");
  }
  const value = parsed.data;
  const outputSchema = value.outputSchema as JsonObject | undefined;
  // Compiled once here: an invalid schema is the caller's error, before anything runs.
  if (outputSchema) schemaValidator(outputSchema);
  return {
    rootModel: value.rootModel,
    subModel: value.subModel ?? value.rootModel,
    maxIterations: value.maxIterations,
    maxDepth: value.maxDepth,
    subConcurrency: value.subConcurrency,
    limits: { ...DEFAULT_LIMITS, ...stripUndefined(value.limits) },
    budgets: stripUndefined(value.budgets),
    previewChars: value.previewChars,
    maxOutputTokens: value.maxOutputTokens,
    outputSchema,
    streamRootTurns: value.streamRootTurns,
    signal,
    onEvent,
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
