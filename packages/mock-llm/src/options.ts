import { InvalidOptionsError } from "@rlm/core";
import { HABIT_NAMES, type HabitName } from "./habits/habit.js";

/** Which kind of conversation a request belongs to. */
export type RequestKind = "root" | "sub" | "final";

/** The scripted strategies the mock can play for a root conversation. */
export type StrategyName = "peek-grep" | "needle" | "map-reduce" | "summarize";

/** A strategy setting: one strategy for every root conversation, or `auto` per query. */
export type StrategySetting = "auto" | StrategyName;

/** Fault rates are probabilities in [0, 1], drawn once per request from the seeded PRNG. */
export interface FaultOptions {
  /** 429 with `Retry-After` and `retry-after-ms` headers. */
  rateLimitRate: number;
  /** 500 with an OpenAI-style error body. */
  serverErrorRate: number;
  /** No answer until the client disconnects or the server stops. */
  hangRate: number;
  /** Status 200 with a truncated (unparseable) body. */
  malformedRate: number;
  /** Status 200 with empty content. */
  emptyRate: number;
  /** Seconds advertised in `Retry-After` on a 429 (fractions allowed). */
  retryAfterSeconds: number;
  /** Answer 400 to any request whose last user message contains this substring. */
  badRequestWhen?: string;
}

/** Everything the mock can be told. Every field has a default. */
export interface MockLlmSettings {
  /** Port to listen on; 0 picks a free one. Only read at start. */
  port: number;
  /** Interface to listen on. Only read at start. */
  host: string;
  /** Delay before every answer (fault answers too, except hang). */
  latencyMs: number;
  /** Uniform extra delay in [0, jitterMs), from the seeded PRNG. */
  jitterMs: number;
  /** Seed of the PRNGs behind faults and jitter: same seed, same sequence. */
  seed: number | string;
  strategy: StrategySetting;
  /** Chunk size of map-reduce and summarize (and the threshold of `auto`). */
  chunkChars: number;
  faults: FaultOptions;
  /** Restrict faults to these kinds of request; undefined means all kinds. */
  faultKinds?: RequestKind[];
  /** Habits of real root models to play (see `habits/`); none by default. */
  habits: HabitName[];
  /**
   * Answer 400 to any request that carries a `response_format` of type `json_schema`, in
   * OpenAI's words for a model without Structured Outputs (default false: sub-calls
   * answer in the schema's shape).
   */
  rejectResponseFormat: boolean;
}

/**
 * Options as callers give them: any subset, faults merged field by field. `null` clears
 * `faultKinds` (faults for every kind) and `faults.badRequestWhen`.
 */
export type MockLlmOptions = Partial<Omit<MockLlmSettings, "faults" | "faultKinds">> & {
  faults?: Partial<Omit<FaultOptions, "badRequestWhen">> & { badRequestWhen?: string | null };
  faultKinds?: RequestKind[] | null;
};

export const DEFAULT_SETTINGS: MockLlmSettings = {
  port: 0,
  host: "127.0.0.1",
  latencyMs: 0,
  jitterMs: 0,
  seed: 0,
  strategy: "auto",
  chunkChars: 100_000,
  habits: [],
  rejectResponseFormat: false,
  faults: {
    rateLimitRate: 0,
    serverErrorRate: 0,
    hangRate: 0,
    malformedRate: 0,
    emptyRate: 0,
    retryAfterSeconds: 1,
  },
};

const STRATEGIES: readonly StrategySetting[] = [
  "auto",
  "peek-grep",
  "needle",
  "map-reduce",
  "summarize",
];
const KINDS: readonly RequestKind[] = ["root", "sub", "final"];
const RATE_KEYS = [
  "rateLimitRate",
  "serverErrorRate",
  "hangRate",
  "malformedRate",
  "emptyRate",
] as const;

/**
 * Applies `patch` over `base` and validates the result. Accepts untrusted input (the
 * `POST /_mock/config` body), so every field is checked; `null` or `""` clears
 * `badRequestWhen` and `null` clears `faultKinds`.
 *
 * @throws InvalidOptionsError when a field has the wrong type or range.
 */
export function mergeSettings(base: MockLlmSettings, patch: unknown): MockLlmSettings {
  if (patch === undefined || patch === null) return base;
  if (!isRecord(patch)) throw new InvalidOptionsError("mock-llm options must be an object");
  const next: MockLlmSettings = { ...base, faults: { ...base.faults } };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    switch (key) {
      case "port":
        next.port = integer(key, value, 0, 65_535);
        break;
      case "host":
        if (typeof value !== "string" || value.length === 0) fail(key, "a non-empty string");
        next.host = value;
        break;
      case "latencyMs":
        next.latencyMs = nonNegative(key, value);
        break;
      case "jitterMs":
        next.jitterMs = nonNegative(key, value);
        break;
      case "seed":
        if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value)))
          fail(key, "a number or a string");
        next.seed = value;
        break;
      case "strategy":
        if (!STRATEGIES.includes(value as StrategySetting)) fail(key, STRATEGIES.join(" | "));
        next.strategy = value as StrategySetting;
        break;
      case "chunkChars":
        next.chunkChars = integer(key, value, 1, Number.MAX_SAFE_INTEGER);
        break;
      case "rejectResponseFormat":
        if (typeof value !== "boolean") fail(key, "a boolean");
        next.rejectResponseFormat = value;
        break;
      case "faultKinds":
        if (value === null) {
          delete next.faultKinds;
          break;
        }
        if (!Array.isArray(value) || !value.every((kind) => KINDS.includes(kind as RequestKind)))
          fail(key, `an array of ${KINDS.join(" | ")}`);
        next.faultKinds = [...(value as RequestKind[])];
        break;
      case "faults":
        next.faults = mergeFaults(next.faults, value);
        break;
      case "habits":
        if (
          !Array.isArray(value) ||
          !value.every((name) => HABIT_NAMES.includes(name as HabitName))
        )
          fail(key, `an array of ${HABIT_NAMES.join(" | ")}`);
        next.habits = [...(value as HabitName[])];
        break;
      default:
        throw new InvalidOptionsError(`unknown mock-llm option "${key}"`);
    }
  }
  return next;
}

function mergeFaults(base: FaultOptions, patch: unknown): FaultOptions {
  if (patch === null) return { ...DEFAULT_SETTINGS.faults };
  if (!isRecord(patch)) fail("faults", "an object");
  const next: FaultOptions = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if ((RATE_KEYS as readonly string[]).includes(key)) {
      const rate = nonNegative(`faults.${key}`, value);
      if (rate > 1) fail(`faults.${key}`, "a probability in [0, 1]");
      next[key as (typeof RATE_KEYS)[number]] = rate;
    } else if (key === "retryAfterSeconds") {
      next.retryAfterSeconds = nonNegative("faults.retryAfterSeconds", value);
    } else if (key === "badRequestWhen") {
      if (value === null || value === "") delete next.badRequestWhen;
      else if (typeof value === "string") next.badRequestWhen = value;
      else fail("faults.badRequestWhen", "a string");
    } else {
      throw new InvalidOptionsError(`unknown mock-llm fault option "${key}"`);
    }
  }
  return next;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonNegative(key: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    fail(key, "a finite number ≥ 0");
  return value;
}

function integer(key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    fail(key, `an integer in [${min}, ${max}]`);
  return value;
}

function fail(key: string, expected: string): never {
  throw new InvalidOptionsError(`mock-llm option "${key}" must be ${expected}`);
}
