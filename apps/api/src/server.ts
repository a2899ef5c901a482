import multipart from "@fastify/multipart";
import { DEFAULT_PREFIX, type RlmConnection, RlmQueueClient } from "@rlm/queue";
import type { Telemetry } from "bullmq";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { adminAuth } from "./admin-auth.js";
import { openApiRedis } from "./api-redis.js";
import { ApiErrorCode, errorBody } from "./api-error.js";
import { type ApiLoggerOption, createApiLogger } from "./api-logger.js";
import { bearerAuth, sendUnauthorized } from "./bearer-auth.js";
import { registerBodyParsers } from "./body-parsers.js";
import { registerBullBoard } from "./bull-board.js";
import { handleError } from "./error-handler.js";
import { EventHub } from "./event-hub.js";
import { DEFAULT_HEARTBEAT_MS } from "./event-stream.js";
import { registerHealth } from "./health.js";
import { IdempotencyFingerprints } from "./idempotency.js";
import { lingerOnEarlyAnswers } from "./request-drain.js";
import { apiMetrics, metricsRoute } from "./metrics/api-metrics.js";
import { registerRequestTracing } from "./request-tracing.js";
import { openApiRoute, registerDocs, registerOpenApi } from "./openapi.js";
import { RedisGuard } from "./redis-guard.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { analysisRoutes } from "./routes/analyses.js";
import { sessionRoutes } from "./routes/sessions.js";
import { chatRoutes } from "./routes/chat-completions.js";
import { viewerRoutes } from "./routes/viewer.js";
import { bearerToken, TokenVerifier } from "./token-verifier.js";
import { describeSchemaErrors, type SchemaError } from "./validation-message.js";
import { startWebhookDeliveries, type WebhookDeliveries } from "./webhooks/delivery-worker.js";
import { secretKey } from "./webhooks/signature.js";
import type { WebhookOptions } from "./webhooks/webhook-options.js";

/** Default largest request body: 200 MB, for whole documents uploaded in one request. */
export const DEFAULT_BODY_LIMIT_BYTES = 200 * 1024 * 1024;

declare module "fastify" {
  interface FastifyInstance {
    /** Event streams (SSE) open now, all served by one Redis connection. */
    openEventStreams(): number;
  }
}

/** How long `ready()` / `listen()` wait for Redis before serving (503s) without it. */
const STARTUP_CONNECT_MS = 2_000;

/** Options of `createApiServer`. The server reads no environment: the caller passes everything. */
export interface ApiServerOptions {
  /**
   * Redis, as options or an ioredis client. The server opens its own connections from it
   * (fail-fast ones for requests and the health probe, one for event streams); a given
   * client is duplicated, never used or closed by the server.
   */
  connection: RlmConnection;
  /** Key prefix shared with the workers. Default `rlm`. */
  prefix?: string;
  /** Bearer token required on every route but `/health`. Must not be empty. */
  apiToken: string;
  /** Largest request body (JSON, multipart or text), in bytes. Default 200 MB. */
  bodyLimitBytes?: number;
  /** A pino instance, pino options, or `false` for no logs. Default: pino at `info`. */
  logger?: ApiLoggerOption;
  /**
   * The producer to use. When given it belongs to the caller and is not closed with
   * the server (its connection's settings are the caller's: for requests that fail fast
   * while Redis is down, leave this out); otherwise the server opens one on its
   * fail-fast request connection and closes it.
   */
  client?: RlmQueueClient;
  /** Interval of heartbeat comments on event streams. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Let Bull Board change state (retry, clean, promote…): `RLM_BOARD_WRITE=1` in
   * `rlm serve`. Default false: the board is read-only.
   */
  boardWrite?: boolean;
  /**
   * Webhooks (`webhook: { url }` in a POST): the signing secret and the delivery
   * worker's settings. Without it, a request with a webhook is refused (400).
   */
  webhooks?: WebhookOptions;
  /**
   * The prom-client registry `/metrics` serves; the server adds its own metrics to it
   * (`rlm serve` gives one with Node's process metrics). Default: a new one.
   */
  metricsRegistry?: Registry;
  /**
   * BullMQ telemetry (bullmq-otel's `BullMQOtel`) for the queue analyses are added to:
   * a producer span per job. Request spans need none: they go through
   * `@opentelemetry/api` and are recorded once the process registers an SDK.
   */
  telemetry?: Telemetry;
}

/**
 * Builds the HTTP API (not listening: call `listen` or `inject`):
 *
 * - `POST /v1/analyses` → 202 `{ id, status, deduplicated, links: { viewer } }` (JSON,
 *   multipart or text body)
 * - `GET /v1/analyses/:id` → the analysis view
 * - `GET /v1/analyses/:id/events` → server-sent events until the terminal event
 * - `DELETE /v1/analyses/:id` → 202 `{ id, outcome }` (cancel)
 * - `POST /v1/sessions` → 201 the session (JSON, multipart or text body, as analyses);
 *   `POST /v1/sessions/:id/analyses` → 202 the question's analysis; `GET /v1/sessions/:id`
 * - `GET /v1/analyses?status=&since=&limit=&cursor=` → a page of analyses, newest first
 * - `POST /v1/chat/completions`, `GET /v1/models` → OpenAI-compatible (model `rlm`)
 * - `GET /health` (no auth) → 200 / 503 by Redis PING
 * - `GET /v1/openapi.json` → the OpenAPI 3.1 document, made from the route schemas
 * - `GET /metrics` → Prometheus metrics (Bearer, like the rest)
 * - `/docs` → Swagger UI over that document (Bearer, or `?token=` once then a cookie)
 * - `/admin/queues` → Bull Board (Bearer, or `?token=` once then an HttpOnly cookie)
 * - `GET /admin/viewer`, `GET /admin/viewer/:id` → the trajectory viewer (same auth)
 * - `GET /admin/api/analyses/:id/trajectory` → the JSON the viewer polls (same auth)
 *
 * With `webhooks`, the server also runs the `rlm-webhooks` delivery worker.
 *
 * Errors are `{ error: { code, message } }`. `close()` closes everything the server
 * opened: its client, the board's queues, the delivery worker, the viewer's and the
 * health connections.
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const verifier = new TokenVerifier(options.apiToken);
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isSafeInteger(bodyLimitBytes) || bodyLimitBytes <= 0) {
    throw new Error("bodyLimitBytes must be a positive integer");
  }
  // A secret that cannot sign fails the start, not the first delivery.
  if (options.webhooks) secretKey(options.webhooks.secret);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  // Every request's commands go through fail-fast connections: a Redis outage is a 503
  // within 2 s, never a hang (see `FAIL_FAST_OPTIONS` and `RedisGuard`).
  const redis = openApiRedis(options.connection, prefix);
  const guard = new RedisGuard(redis.requests, redis.probe);
  const topology = { connection: redis.requests, prefix };
  const app = Fastify({
    // Typed as Fastify's base logger so the instance is a plain `FastifyInstance`.
    loggerInstance: createApiLogger(options.logger) as FastifyBaseLogger,
    bodyLimit: bodyLimitBytes,
    ajv: {
      customOptions: {
        // Fastify's defaults would strip unknown option keys and turn `"query": 1` into
        // "1": a client must hear about both instead.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        // `context` is a string, an array or an object: one `type` list says so.
        allowUnionTypes: true,
      },
    },
    // Malformed URLs and over-long path parameters get the API's error body too.
    frameworkErrors: handleError,
    schemaErrorFormatter: (errors, dataVar) =>
      new Error(describeSchemaErrors(errors as SchemaError[], dataVar)),
  });

  const metrics = apiMetrics(topology, options.metricsRegistry);
  const ownsClient = options.client === undefined;
  const webhookJobs = options.webhooks?.jobs;
  const client =
    options.client ??
    new RlmQueueClient({
      ...topology,
      observe: metrics.analyses.producer,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      ...(webhookJobs ? { webhookJobs } : {}),
    });
  const events = new EventHub({
    connection: options.connection,
    waker: redis.requests,
    prefix,
    log: app.log,
  });

  // First: the OpenAPI plugin collects routes as they are declared.
  registerOpenApi(app);
  // Response schemas document the answers; JSON.stringify writes them, as it would with
  // no schema. Fastify's compiled serializer would drop any field a schema lacks (and
  // coerce types): the tests check answers against the schemas instead.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    // Under /v1 an unknown path is a 401 without a valid token, as a known one is: which
    // routes exist is not told to anyone without it.
    if (/^\/v1(\/|$)/.test(path) && !verifier.verify(bearerToken(request.headers.authorization))) {
      return sendUnauthorized(reply, "a valid bearer token is required");
    }
    return reply
      .code(404)
      .send(errorBody(ApiErrorCode.notFound, `no route ${request.method} ${path}`));
  });
  registerRequestTracing(app);
  // JSON and any text (markdown, CSV, logs are documents): UTF-8 only, depth-bounded.
  registerBodyParsers(app, bodyLimitBytes);
  lingerOnEarlyAnswers(app);
  app.register(multipart, { throwFileSizeLimit: true });

  registerHealth(app, redis.probe);
  const board = registerBullBoard(app, topology, verifier, {
    write: options.boardWrite === true,
    guard,
  });
  app.register(async (scope) => {
    // The viewer's pages set their own CSP, with a nonce per page.
    await registerSecurityHeaders(scope, false);
    scope.addHook("onRequest", adminAuth(verifier));
    scope.addHook("onRequest", guard.refuseWhileDisconnected);
    await viewerRoutes(scope, {
      client,
      redis: redis.requests,
      prefix,
      flows: board.flows,
    });
  });
  registerDocs(app, verifier);
  const fingerprints = new IdempotencyFingerprints(redis.requests, prefix);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  app.register(async (scope) => {
    scope.addHook("onRequest", bearerAuth(verifier));
    openApiRoute(scope);
    metricsRoute(scope, metrics);
    await analysisRoutes(scope, {
      client,
      guard,
      fingerprints,
      bodyLimitBytes,
      heartbeatMs,
      events,
      webhooks: options.webhooks,
    });
    await sessionRoutes(scope, { client, guard, fingerprints, bodyLimitBytes });
  });
  // OpenAI's clients read OpenAI's error shape: these routes have a scope of their own.
  app.register(async (scope) => {
    await chatRoutes(scope, {
      client,
      guard,
      fingerprints,
      verifier,
      events,
      bodyLimitBytes,
      heartbeatMs,
    });
  });

  app.decorate("openEventStreams", () => events.size);
  // The first requests must not find the connections still connecting (a 503 for nothing).
  app.addHook("onReady", async () => redis.connected(STARTUP_CONNECT_MS));
  let deliveries: WebhookDeliveries | undefined;
  const webhooks = options.webhooks;
  if (webhooks && webhooks.deliver !== false) {
    app.addHook("onReady", async () => {
      deliveries = startWebhookDeliveries({
        connection: options.connection,
        prefix,
        secret: webhooks.secret,
        allowPrivate: webhooks.allowPrivate === true,
        ...(webhooks.timeoutMs !== undefined ? { timeoutMs: webhooks.timeoutMs } : {}),
        ...(webhooks.concurrency !== undefined ? { concurrency: webhooks.concurrency } : {}),
        getAnalysis: (id) => client.getAnalysis(id),
        log: app.log,
      });
    });
  }
  // Event streams are hijacked responses the HTTP server would wait on for ever.
  app.addHook("preClose", async () => events.close());
  app.addHook("onClose", async () => {
    // First: deliveries in flight read records through the client.
    await deliveries?.close().catch(() => undefined);
    await Promise.allSettled([
      ownsClient ? client.close() : Promise.resolve(),
      board.close(),
      metrics.close(),
    ]);
    // Last: the client and the board's queues share the request connection.
    await redis.close();
  });
  return app;
}
