import type { RlmBudgets } from "@rlm/core";
import type { ProxySettings } from "@rlm/llm";
import type { PriceTable } from "rlm-queue";
import type { CliEnv } from "./env.js";
import { proxyFromEnv } from "./model-client.js";
import { UsageError } from "./usage-error.js";

/** The flags `rlm run` shares with env variables (commander's parsed options). */
export interface ModelFlags {
  apiKey?: string;
  baseUrl?: string;
  rootModel?: string;
  subModel?: string;
  maxIterations?: number;
  maxDepth?: number;
  concurrency?: number;
  maxSubCalls?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  /** Seconds. */
  deadline?: number;
}

/** What an in-process analysis needs, after flags and env were merged. */
export interface RunSettings {
  apiKey: string;
  baseURL: string;
  rootModel?: string;
  subModel?: string;
  maxIterations?: number;
  maxDepth?: number;
  subConcurrency?: number;
  budgets?: RlmBudgets;
  prices?: PriceTable;
  timeoutMs?: number;
  /** From `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`. */
  proxy?: ProxySettings;
}

export const DEFAULT_BASE_URL = "https://api.openai.com/v1";

/**
 * Merges flags over env (a flag wins over its variable). Model names and limits left
 * unset fall through to the engine's defaults, so there is one place they are defined.
 *
 * @throws UsageError when no API key is given either way.
 */
export function resolveRunSettings(flags: ModelFlags, env: CliEnv): RunSettings {
  const apiKey = flags.apiKey ?? env.OPENAI_API_KEY;
  if (apiKey === undefined || apiKey.trim() === "") {
    throw new UsageError("no API key: set OPENAI_API_KEY or pass --api-key");
  }
  return withoutUndefined({
    apiKey,
    baseURL: flags.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL,
    rootModel: flags.rootModel ?? env.RLM_ROOT_MODEL,
    subModel: flags.subModel ?? env.RLM_SUB_MODEL,
    maxIterations: flags.maxIterations ?? env.RLM_MAX_ITERATIONS,
    maxDepth: flags.maxDepth ?? env.RLM_MAX_DEPTH,
    subConcurrency: flags.concurrency ?? env.RLM_SUB_CONCURRENCY,
    budgets: budgetsFrom(flags),
    prices: env.RLM_PRICES,
    timeoutMs: env.RLM_MODEL_TIMEOUT_S === undefined ? undefined : env.RLM_MODEL_TIMEOUT_S * 1000,
    proxy: proxyFromEnv(env),
  });
}

/** The budgets the flags set (`--max-cost-usd` and the like); undefined when none is. */
export function budgetsFrom(
  flags: Pick<ModelFlags, "maxSubCalls" | "maxTokens" | "maxCostUsd" | "deadline">,
): RlmBudgets | undefined {
  const budgets = withoutUndefined({
    maxSubCalls: flags.maxSubCalls,
    maxTokens: flags.maxTokens,
    maxCostUsd: flags.maxCostUsd,
    deadlineMs: flags.deadline === undefined ? undefined : Math.round(flags.deadline * 1000),
  });
  return Object.keys(budgets).length > 0 ? budgets : undefined;
}

/** `value` without its undefined fields (options that were not given). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
