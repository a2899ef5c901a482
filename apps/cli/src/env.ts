import { z } from "zod";
import { UsageError } from "./usage-error.js";

/** Pino's level names plus `silent`. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const positiveInt = z.coerce
  .number({ error: "expected a positive integer" })
  .int({ error: "expected a positive integer" })
  .positive({ error: "expected a positive integer" });

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

/**
 * Every environment variable the CLI reads, in one schema (DESIGN.md, "Interfaces users
 * touch"). All are optional here; a command decides what it requires (only `run` needs
 * an API key). Empty values count as unset, so `OPENAI_BASE_URL= rlm run …` behaves like
 * not setting it.
 */
const envSchema = z.object({
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  RLM_ROOT_MODEL: z.string().optional(),
  RLM_SUB_MODEL: z.string().optional(),
  RLM_MAX_ITERATIONS: positiveInt.optional(),
  RLM_MAX_DEPTH: positiveInt.optional(),
  RLM_SUB_CONCURRENCY: positiveInt.optional(),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` })
    .default("warn"),
});

export type CliEnv = z.infer<typeof envSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Parses the environment once.
 * @throws UsageError naming every invalid variable (never its value: it may be a secret).
 */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): CliEnv {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => {
      const value = source[key]?.trim();
      return value ? [[key, value]] : [];
    }),
  );
  const parsed = envSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new UsageError(`invalid environment: ${problems.join("; ")}`);
}
