import type { AnalysisStatus, RlmQueueClient } from "@rlm/queue";
import type { FastifyInstance, preValidationAsyncHookHandler } from "fastify";
import { type ListAnalysesQuerystring, listAnalysesSchema } from "../analysis-list-schemas.js";
import { readAnalysisRequest } from "../analysis-request.js";
import {
  type AnalysisParams,
  type AnalysisQuerystring,
  analysisEventsSchema,
  analysisUploadBodies,
  cancelAnalysisSchema,
  createAnalysisSchema,
  getAnalysisSchema,
} from "../analysis-schemas.js";
import { ApiError, ApiErrorCode } from "../api-error.js";
import type { EventHub } from "../event-hub.js";
import { streamEvents } from "../event-stream.js";
import { enqueueFromRequest } from "../analysis-enqueue.js";
import type { IdempotencyFingerprints } from "../idempotency.js";
import { withDocumentedBodies } from "../openapi.js";
import type { RedisGuard } from "../redis-guard.js";
import { checkRequestedWebhook, type WebhookOptions } from "../webhooks/webhook-options.js";
import { viewerPath } from "./viewer.js";

/** What the analysis routes need from the server. */
export interface AnalysisRoutesOptions {
  client: RlmQueueClient;
  /** Bounds every wait on Redis: 503 within 2 s when it cannot be reached. */
  guard: RedisGuard;
  /** Which request each idempotency key was first used with. */
  fingerprints: IdempotencyFingerprints;
  bodyLimitBytes: number;
  heartbeatMs: number;
  /** Every event stream of the process, from one Redis connection. */
  events: EventHub;
  /** The server's webhooks; undefined: requests with a webhook are refused. */
  webhooks: WebhookOptions | undefined;
}

/** Stream entry ids as Redis writes them (`<ms>-<seq>`), for `Last-Event-ID`. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Registers `/v1/analyses` routes (authentication is the caller's hook). */
export async function analysisRoutes(app: FastifyInstance, options: AnalysisRoutesOptions) {
  const { client, guard, bodyLimitBytes, fingerprints } = options;

  app.post<{ Querystring: AnalysisQuerystring }>(
    "/v1/analyses",
    {
      bodyLimit: bodyLimitBytes,
      schema: createAnalysisSchema,
      config: { swaggerTransform: withDocumentedBodies(analysisUploadBodies) },
    },
    async (request, reply) => {
      const input = await readAnalysisRequest(request, bodyLimitBytes);
      if (input.webhook) await checkRequestedWebhook(input.webhook.url, options.webhooks);
      // The body is read first, whatever Redis does; only the enqueue waits on Redis.
      const enqueued = await enqueueFromRequest({ client, guard, fingerprints }, input);
      if (enqueued.deduplicated) reply.header("idempotent-replayed", "true");
      request.log.info(
        { analysisId: enqueued.id, deduplicated: enqueued.deduplicated },
        "analysis enqueued",
      );
      return reply
        .code(202)
        .header("location", `/v1/analyses/${enqueued.id}`)
        .send({
          id: enqueued.id,
          status: enqueued.status,
          deduplicated: enqueued.deduplicated,
          links: { viewer: viewerPath(enqueued.id) },
        });
    },
  );

  app.get<{ Querystring: ListAnalysesQuerystring }>(
    "/v1/analyses",
    { schema: listAnalysesSchema, preValidation: numericLimit },
    async (request) => {
      const { status, since, limit, cursor } = request.query;
      const page = await guard.run(() =>
        client.listAnalyses({
          ...(status !== undefined ? { statuses: status.split(",") as AnalysisStatus[] } : {}),
          ...(since !== undefined ? { sinceMs: parseSince(since) } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        }),
      );
      return {
        data: page.analyses,
        ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
      };
    },
  );

  app.get<{ Params: AnalysisParams }>(
    "/v1/analyses/:id",
    { schema: getAnalysisSchema },
    async (request) => {
      const view = await guard.run(() => client.getAnalysis(request.params.id));
      if (!view) throw notFound(request.params.id);
      return view;
    },
  );

  app.get<{ Params: AnalysisParams }>(
    "/v1/analyses/:id/events",
    { schema: analysisEventsSchema },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await guard.run(() => client.getAnalysis(id)))) throw notFound(id);
      const lastEventId = request.headers["last-event-id"];
      const after =
        typeof lastEventId === "string" && STREAM_ID.test(lastEventId) ? lastEventId : undefined;
      // From here the response is written by hand, as a stream that outlives the handler.
      reply.hijack();
      await streamEvents(reply.raw, {
        subscription: options.events.subscribe(id, after),
        analysisId: id,
        heartbeatMs: options.heartbeatMs,
        log: request.log,
      });
    },
  );

  app.delete<{ Params: AnalysisParams }>(
    "/v1/analyses/:id",
    { schema: cancelAnalysisSchema },
    async (request, reply) => {
      const { id } = request.params;
      const outcome = await guard.run(() => client.cancel(id));
      if (outcome === "not_found") throw notFound(id);
      if (outcome === "already_finished") {
        throw new ApiError(
          409,
          ApiErrorCode.alreadyFinished,
          `analysis ${id} has already finished`,
        );
      }
      request.log.info({ analysisId: id, outcome }, "analysis cancel");
      return reply.code(202).send({ id, outcome });
    },
  );
}

/**
 * A query string's values are text and the server's validator coerces nothing: `limit`
 * is read as the number it spells before its schema checks it (anything else fails it).
 */
const numericLimit: preValidationAsyncHookHandler = async (request) => {
  const query = request.query as Record<string, unknown>;
  if (typeof query.limit === "string" && /^\d{1,6}$/.test(query.limit)) {
    query.limit = Number(query.limit);
  }
};

/** `since`: ISO 8601, or milliseconds since the epoch. */
function parseSince(since: string): number {
  const ms = /^\d{1,15}$/.test(since) ? Number(since) : Date.parse(since);
  if (Number.isNaN(ms)) {
    throw new ApiError(
      400,
      ApiErrorCode.invalidRequest,
      "since must be an ISO 8601 time (2025-05-01T12:00:00Z) or milliseconds since the epoch",
    );
  }
  return ms;
}

function notFound(id: string): ApiError {
  return new ApiError(404, ApiErrorCode.notFound, `no analysis ${id}`);
}
