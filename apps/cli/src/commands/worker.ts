import type { ModelClient } from "@rlm/core";
import type { RateLimit } from "../env.js";
import { type MetricsServer, startMetricsServer } from "../observability/metrics-server.js";
import {
  type ModelRole,
  observedModelClient,
  observeRetries,
} from "../observability/observed-model-client.js";
import { startTracing, type Tracing } from "../observability/tracing.js";
import type { WorkerMetrics } from "../observability/worker-metrics.js";
import { modelClientOptions, proxyForLog, proxyFromEnv } from "../model-client.js";
import { logModelRetries } from "../model-retry-log.js";
import { displayRedis, queueConnection, redisTarget, requireRedis } from "../redis.js";
import { DEFAULT_BASE_URL, withoutUndefined } from "../run-settings.js";
import { setup } from "../setup.js";
import { stopOnSignals } from "../signals.js";
import { EXIT, UsageError } from "../usage-error.js";

/** Options of `rlm worker`, as commander parses them. */
export interface WorkerFlags {
  concurrency?: number;
  llmConcurrency?: number;
  /** Seconds a run waiting for child jobs only keeps its job (`parkAfterMs`). */
  parkAfter?: number;
  queues: ("root" | "llm")[];
  rateLimit?: RateLimit;
  drainTimeout: number;
  metricsPort?: number;
  metricsHost: string;
}

/** Jobs in progress at once when neither flag nor env says otherwise (the library's defaults). */
const DEFAULT_ROOT_CONCURRENCY = 8;
const DEFAULT_LLM_CONCURRENCY = 32;
/** Seconds a run waiting for child jobs only keeps its job (the library's `parkAfterMs`). */
const DEFAULT_PARK_AFTER_S = 10;

/**
 * `rlm worker`: root and/or LM workers in this process until SIGTERM/SIGINT, which
 * drains them (no new jobs; jobs in progress get `--drain-timeout` seconds, then are
 * left to another worker, their completed steps journaled). A second signal exits at
 * once. Checks Redis with one PING first, so a wrong URL is one line, not a hang.
 *
 * @returns the exit code, once drained.
 */
export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const { env, logger } = setup("info");
  const apiKey = env.OPENAI_API_KEY;
  if (apiKey === undefined) {
    throw new UsageError("no API key: set OPENAI_API_KEY (the workers make the model calls)");
  }
  const target = redisTarget(env);
  await requireRedis(target);

  const roles = flags.queues;
  const concurrency = {
    root: flags.concurrency ?? env.RLM_WORKER_CONCURRENCY ?? DEFAULT_ROOT_CONCURRENCY,
    llm: flags.llmConcurrency ?? env.RLM_LLM_CONCURRENCY ?? DEFAULT_LLM_CONCURRENCY,
  };
  const limiter = flags.rateLimit ?? env.RLM_RATE_LIMIT;
  const parkAfterS = flags.parkAfter ?? env.RLM_PARK_AFTER_S ?? DEFAULT_PARK_AFTER_S;
  const baseURL = env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL;
  // Under each job's own options: an analysis enqueued without them runs with these.
  const defaults = withoutUndefined({
    rootModel: env.RLM_ROOT_MODEL,
    subModel: env.RLM_SUB_MODEL,
    maxIterations: env.RLM_MAX_ITERATIONS,
    maxDepth: env.RLM_MAX_DEPTH,
    subConcurrency: env.RLM_SUB_CONCURRENCY,
  });

  const proxy = proxyFromEnv(env);
  const endpoint = withoutUndefined({
    apiKey,
    baseURL,
    prices: env.RLM_PRICES,
    timeoutMs: env.RLM_MODEL_TIMEOUT_S === undefined ? undefined : env.RLM_MODEL_TIMEOUT_S * 1000,
    proxy,
  });

  // Traces (when OTEL_EXPORTER_OTLP_ENDPOINT is set) and metrics (--metrics-port), before
  // anything that makes a span or counts.
  const tracing = await startTracing(env, "rlm-worker");
  const metrics =
    flags.metricsPort === undefined
      ? undefined
      : new (await import("../observability/worker-metrics.js")).WorkerMetrics();
  const metricsServer = metrics && (await listenForScrapes(metrics, flags, tracing));

  // Loaded here: the worker pulls in isolated-vm and BullMQ.
  const { exposedGarbageCollector, startRlmWorker } = await import("@rlm/queue");
  const { createOpenAIModelClient } = await import("@rlm/llm");
  // Made here so they go through the proxy, log their retries and, when observed, count
  // their calls and trace them. Root turns retry 429s themselves; the LM role hands them
  // to the queue, which pauses as a whole.
  const modelClient = (role: ModelRole): ModelClient => {
    const log = logModelRetries(logger);
    const observe = tracing || metrics ? observeRetries(role, metrics?.modelCalls) : undefined;
    const client = createOpenAIModelClient({
      ...modelClientOptions(endpoint, role === "root"),
      onRetry: (retry) => {
        log(retry);
        observe?.(retry);
      },
    });
    if (!tracing && !metrics) return client;
    return observedModelClient(client, role, metrics?.modelCalls, new URL(baseURL).host);
  };
  // bin/rlm.js starts Node with --expose-gc for this.
  const collectGarbage = exposedGarbageCollector();
  const redis = queueConnection(target);
  const worker = await startRlmWorker({
    connection: redis.connection,
    prefix: env.RLM_PREFIX,
    roles,
    concurrency,
    rootModelClient: modelClient("root"),
    llmModelClient: modelClient("sub"),
    defaults,
    ...(limiter === undefined ? {} : { limiter }),
    parkAfterMs: Math.round(parkAfterS * 1000),
    ...(collectGarbage ? { collectGarbage } : {}),
    observe: (observation) => {
      if (observation.type === "lock_lost") {
        logger.warn(
          { jobId: observation.jobId },
          "lost the lock of a root job (this process was stalled, or Redis lost the key): its run stopped; the job runs again from its journal",
        );
      }
      metrics?.observe(observation);
    },
    ...(tracing ? { telemetry: tracing.telemetry } : {}),
  });
  metrics?.attach(worker);

  const served = Object.fromEntries(roles.map((role) => [role, concurrency[role]]));
  logger.info(
    {
      roles,
      concurrency: served,
      ...(limiter && roles.includes("llm")
        ? { rateLimit: `${limiter.max} per ${limiter.durationMs / 1000} s` }
        : {}),
      ...(roles.includes("root") ? { parkAfterS } : {}),
      redis: displayRedis(target),
      prefix: env.RLM_PREFIX,
      baseURL,
      ...(proxy ? { proxy: proxyForLog(proxy) } : {}),
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
      ...(tracing ? { traces: tracing.endpoint } : {}),
      ...defaults,
    },
    `worker ready: ${roles.map((role) => `${role}×${concurrency[role]}`).join(", ")}`,
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stopOnSignals(resolve, {
      onForced: (again) => logger.warn({ signal: again }, "second signal: exiting without drain"),
    });
  });
  const timeoutMs = flags.drainTimeout * 1000;
  logger.info({ signal, timeoutMs }, "draining: no new jobs, waiting for jobs in progress");
  const startedAt = Date.now();
  await worker.close({ timeoutMs });
  await redis.close();
  await metricsServer?.close();
  // The spans of the last jobs are still in the batch: sent before the process exits.
  await tracing?.shutdown();
  logger.info({ signal, durationMs: Date.now() - startedAt }, "worker drained, exiting");
  return EXIT.ok;
}

/** The metrics endpoint, or a usage error (exit 2) when its port cannot be had. */
async function listenForScrapes(
  metrics: WorkerMetrics,
  flags: WorkerFlags,
  tracing: Tracing | undefined,
): Promise<MetricsServer> {
  const port = flags.metricsPort ?? 0;
  try {
    return await startMetricsServer(metrics.registry, port, flags.metricsHost);
  } catch (error) {
    await tracing?.shutdown();
    throw new UsageError(
      `cannot serve metrics on ${flags.metricsHost}:${port}: ${(error as Error).message}`,
    );
  }
}
