import { z } from "zod";
import { type ClusterNodesSetting, parseClusterNodes } from "./cluster-nodes.js";
import { UsageError } from "./usage-error.js";

/** Where Redis is when `REDIS_URL` is not set. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Pino's level names plus `silent`. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const positiveInt = z.coerce
  .number({ error: "expected a positive integer" })
  .int({ error: "expected a positive integer" })
  .positive({ error: "expected a positive integer" });

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

/**
 * A proxy URL as curl takes it: `http://host:port` (credentials allowed), or `host:port`
 * meaning `http://host:port`.
 */
const proxyUrl = z
  .string()
  .transform((value) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`))
  .pipe(z.url({ protocol: /^https?$/, error: "expected a proxy URL such as http://proxy:3128" }));

const redisUrl = z.url({ protocol: /^rediss?$/, error: "expected a redis:// or rediss:// URL" });

/**
 * `REDIS_CLUSTER_NODES`: `host:port` entries, comma-separated; any entry may be written as
 * `redis://user:pass@host:port` or `rediss://…` (TLS), and its credentials and scheme then
 * apply to every node (entries that name different ones are refused).
 */
const clusterNodes = z.string().transform((value, ctx): ClusterNodesSetting => {
  const setting = parseClusterNodes(value);
  if (typeof setting === "string") {
    ctx.addIssue({ code: "custom", message: setting });
    return z.NEVER;
  }
  return setting;
});

const portNumber = z.coerce
  .number({ error: "expected a port number (0–65535)" })
  .int({ error: "expected a port number (0–65535)" })
  .min(0, { error: "expected a port number (0–65535)" })
  .max(65_535, { error: "expected a port number (0–65535)" });

/** A positive number of megabytes (decimals allowed: 0.5 is 512 KB). */
const megabytes = z.coerce
  .number({ error: "expected a positive number of megabytes" })
  .positive({ error: "expected a positive number of megabytes" })
  .max(100_000, { error: "expected at most 100000 (MB)" });

/** A positive number of seconds (decimals allowed: 0.5 is 500 ms). */
const seconds = z.coerce
  .number({ error: "expected a positive number of seconds" })
  .positive({ error: "expected a positive number of seconds" })
  .max(86_400, { error: "expected at most 86400 (a day)" });

/** A yes/no switch: `1`/`true`/`yes` or `0`/`false`/`no`. */
const flag = z
  .string()
  .toLowerCase()
  .pipe(z.enum(["1", "true", "yes", "0", "false", "no"], { error: "expected 1 or 0" }))
  .transform((value) => ["1", "true", "yes"].includes(value));

/**
 * Redis key prefix: also the SCAN pattern of a cleanup, so no glob characters or spaces,
 * and no braces (the keys' hash tags are the system's own: see `redisKeys`).
 */
const keyPrefix = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, {
  error: "expected letters, digits and _ . : - only",
});

/** Standard Webhooks' secret: `whsec_` and the base64 of at least 16 random bytes. */
const webhookSecret = z
  .string()
  .refine(
    (value) =>
      /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value) &&
      Buffer.from(value.slice("whsec_".length), "base64").length >= 16,
    { error: "expected whsec_ and the base64 of 16 bytes or more (openssl rand -base64 32)" },
  );

const rateLimit = z.string().transform((value, ctx) => {
  const parsed = parseRateLimit(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: "custom", message: RATE_LIMIT_HINT });
    return z.NEVER;
  }
  return parsed;
});

/** `RLM_PRICES`: JSON of USD per 1M tokens by model, e.g. `{"llama3.1:8b":{"input":0,"output":0}}`. */
const modelPrice = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cachedInput: z.number().nonnegative().optional(),
  })
  .strict();
const prices = z.string().transform((value, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: 'expected JSON, e.g. {"my-model":{"input":0.1,"output":0.4}}',
    });
    return z.NEVER;
  }
  const table = z.record(z.string().min(1), modelPrice).safeParse(parsed);
  if (!table.success) {
    ctx.addIssue({
      code: "custom",
      message:
        'expected {"<model>":{"input":<usd per 1M>,"output":<usd per 1M>,"cachedInput"?:<usd>}}',
    });
    return z.NEVER;
  }
  return table.data;
});

/**
 * Every environment variable the CLI reads, in one schema (README, "Configuration"). All are optional here; a command decides what it requires (only `run` needs
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
  /** USD per 1M tokens by model, over the built-in table (local and unlisted models). */
  RLM_PRICES: prices.optional(),
  /** Seconds a model call's attempt may take (default 120; slow local servers need more). */
  RLM_MODEL_TIMEOUT_S: positiveInt.optional(),
  /** Default: `warn` for one-shot commands, `info` for `worker` and `serve`. */
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` }).optional(),
  REDIS_URL: redisUrl.default(DEFAULT_REDIS_URL),
  /** A Redis Cluster instead of `REDIS_URL` (which is then ignored): see `parseClusterNodes`. */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  /** Prefix of every Redis key (BullMQ's and ours): one Redis can hold several systems. */
  RLM_PREFIX: keyPrefix.default("rlm"),
  RLM_WORKER_CONCURRENCY: positiveInt.optional(),
  RLM_LLM_CONCURRENCY: positiveInt.optional(),
  /** `worker`: seconds a run waiting for child jobs only keeps its root job (default 10). */
  RLM_PARK_AFTER_S: seconds.optional(),
  RLM_RATE_LIMIT: rateLimit.optional(),
  RLM_API_TOKEN: z.string().optional(),
  PORT: portNumber.default(3000),
  RLM_MAX_UPLOAD_MB: megabytes.default(200),
  /**
   * The proxy of model calls (`run`, `worker`) to `https:` and `http:` endpoints, and the
   * hosts reached directly; the lower-case names are read first, as curl and undici do.
   */
  https_proxy: proxyUrl.optional(),
  HTTPS_PROXY: proxyUrl.optional(),
  http_proxy: proxyUrl.optional(),
  HTTP_PROXY: proxyUrl.optional(),
  no_proxy: z.string().optional(),
  NO_PROXY: z.string().optional(),
  /** `serve`: let Bull Board retry, clean and promote jobs (read-only otherwise). */
  RLM_BOARD_WRITE: flag.default(false),
  /** `serve`: signs webhook deliveries; without it, requests with a webhook are refused. */
  RLM_WEBHOOK_SECRET: webhookSecret.optional(),
  /** `serve`: let webhooks call loopback and private addresses. */
  RLM_WEBHOOK_ALLOW_PRIVATE: flag.default(false),
  /**
   * `serve`, `worker`: traces exported over OTLP/HTTP to this collector (`/v1/traces` is
   * appended); unset, no OpenTelemetry SDK is started. The exporter reads the other
   * `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) itself.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  /** The traces' own endpoint, used as is (wins over the one above). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  /** `true`: no SDK, whatever the endpoint. */
  OTEL_SDK_DISABLED: flag.default(false),
});

/** A request rate: `max` requests per `durationMs`. */
export interface RateLimit {
  max: number;
  durationMs: number;
}

export const RATE_LIMIT_HINT = "expected N/s, N/m or N/h with N a positive integer (e.g. 20/s)";

const RATE_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `20/s` → `{ max: 20, durationMs: 1000 }`; a bare `20` is per second. Undefined if invalid. */
export function parseRateLimit(value: string): RateLimit | undefined {
  const match = /^\s*(\d+)\s*(?:\/\s*(s|sec|m|min|h)\s*)?$/.exec(value);
  if (!match) return undefined;
  const max = Number(match[1]);
  if (!Number.isSafeInteger(max) || max <= 0) return undefined;
  const unit = (match[2] ?? "s").charAt(0) as keyof typeof RATE_UNITS_MS;
  return { max, durationMs: RATE_UNITS_MS[unit] };
}

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
