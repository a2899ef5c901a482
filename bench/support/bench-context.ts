import type { ContextStore, RlmQueueClient } from "@rlm/queue";
import type { Redis } from "ioredis";
import type { MockProcess } from "./mock-client.js";

/** What every figure gets from the runner. */
export interface BenchContext {
  quick: boolean;
  /** Unique Redis key prefix of this bench run (deleted at the end). */
  prefix: string;
  mock: MockProcess;
  client: RlmQueueClient;
  contexts: ContextStore;
  redis: Redis;
  log: (line: string) => void;
}

/** One line of the summary table. */
export interface FigureRow {
  figure: string;
  metric: string;
  value: string;
  goal: string;
  /** undefined: no goal, reported only. */
  pass?: boolean;
}

export interface FigureResult {
  rows: FigureRow[];
  /** Everything measured, for the JSON file. */
  data: Record<string, unknown>;
}

export const MOCK_MODELS = { rootModel: "mock-root", subModel: "mock-sub" } as const;

export function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}
