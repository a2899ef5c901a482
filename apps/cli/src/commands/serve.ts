import { startTracing } from "../observability/tracing.js";
import { displayRedis, queueConnection, redisTarget, requireRedis } from "../redis.js";
import { setup } from "../setup.js";
import { stopOnSignals } from "../signals.js";
import { EXIT, UsageError } from "../usage-error.js";

/** Options of `rlm serve`, as commander parses them. */
export interface ServeFlags {
  port?: number;
  host: string;
}

/** How long `app.close()` may take before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * `rlm serve`: the HTTP API with Bull Board at `/admin/queues`, until SIGTERM/SIGINT
 * (then `app.close()`: open event streams end, connections close). Requires
 * `RLM_API_TOKEN`; checks Redis with one PING first.
 *
 * @returns the exit code, once closed.
 */
export async function serveCommand(flags: ServeFlags): Promise<number> {
  const { env, logger } = setup("info");
  const apiToken = env.RLM_API_TOKEN;
  if (apiToken === undefined) {
    throw new UsageError("no API token: set RLM_API_TOKEN (clients send it as a Bearer token)");
  }
  const target = redisTarget(env);
  await requireRedis(target);

  // Traces when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per /v1 request, the analysis
  // it enqueues in its trace.
  const tracing = await startTracing(env, "rlm-api");
  // Loaded here: Fastify, Bull Board and the queue client.
  const { createApiServer, BULL_BOARD_PATH, DOCS_PATH, METRICS_PATH, VIEWER_PATH } =
    await import("@rlm/api");
  const { collectDefaultMetrics, Registry } = await import("prom-client");
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry });
  // A cluster client is shared by the server's connections (each a duplicate of it).
  const redis = queueConnection(target);
  const app = createApiServer({
    connection: redis.connection,
    prefix: env.RLM_PREFIX,
    apiToken,
    bodyLimitBytes: Math.round(env.RLM_MAX_UPLOAD_MB * 1024 * 1024),
    boardWrite: env.RLM_BOARD_WRITE,
    // The delivery worker runs here: deliveries wait in Redis while no API runs.
    ...(env.RLM_WEBHOOK_SECRET === undefined
      ? {}
      : {
          webhooks: {
            secret: env.RLM_WEBHOOK_SECRET,
            allowPrivate: env.RLM_WEBHOOK_ALLOW_PRIVATE,
          },
        }),
    logger,
    metricsRegistry,
    ...(tracing ? { telemetry: tracing.telemetry } : {}),
  });
  let address: string;
  try {
    address = await app.listen({
      port: flags.port ?? env.PORT,
      host: flags.host,
    });
  } catch (error) {
    await app.close();
    await redis.close();
    await tracing?.shutdown();
    const code = (error as { code?: unknown }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new UsageError(
        `cannot listen on ${flags.host}:${flags.port ?? env.PORT}: ${(error as Error).message}`,
      );
    }
    throw error;
  }
  logger.info(
    {
      url: address,
      redis: displayRedis(target),
      prefix: env.RLM_PREFIX,
      maxUploadMb: env.RLM_MAX_UPLOAD_MB,
      boardWrite: env.RLM_BOARD_WRITE,
      webhooks: env.RLM_WEBHOOK_SECRET === undefined ? "off" : "on",
      metrics: `${address}${METRICS_PATH}`,
      ...(tracing ? { traces: tracing.endpoint } : {}),
    },
    `API listening on ${address}`,
  );
  // Where a person goes first. A browser sends no Bearer header: `?token=` once sets a
  // cookie for these pages.
  const pages = {
    viewer: `${address}${VIEWER_PATH}`,
    board: `${address}${BULL_BOARD_PATH}`,
    docs: `${address}${DOCS_PATH}`,
  };
  logger.info(
    pages,
    `viewer ${pages.viewer} · Bull Board ${pages.board} · API docs ${pages.docs} ` +
      "(in a browser, add ?token=<RLM_API_TOKEN> once)",
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stopOnSignals(resolve, {
      onForced: (again) => logger.warn({ signal: again }, "second signal: exiting at once"),
    });
  });
  logger.info({ signal }, "closing the API server");
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    app.close().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  // The last requests' spans are still in the batch: sent before the process exits.
  await tracing?.shutdown();
  if (!closed) {
    logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, "API server did not close in time; exiting");
    process.exit(EXIT.ok);
  }
  await redis.close();
  logger.info({ signal }, "API server closed");
  return EXIT.ok;
}
