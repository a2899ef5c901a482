import { RlmError } from "@rlm/core";
import type { RlmQueueClient, SerializableEngineOptions } from "@rlm/queue";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { withHeaderKey } from "../analysis-request.js";
import { ApiError, ApiErrorCode } from "../api-error.js";
import { type IdempotencyFingerprints, requestFingerprint } from "../idempotency.js";
import { withDocumentedBodies } from "../openapi.js";
import type { RedisGuard } from "../redis-guard.js";
import { readSessionRequest } from "../session-request.js";
import {
  askSessionSchema,
  createSessionSchema,
  getSessionSchema,
  type SessionParams,
  type SessionQuestionBody,
  sessionUploadBodies,
} from "../session-schemas.js";
import { viewerPath } from "./viewer-paths.js";

/** What the session routes need from the server. */
export interface SessionRoutesOptions {
  client: RlmQueueClient;
  /** Bounds every wait on Redis: 503 within 2 s when it cannot be reached. */
  guard: RedisGuard;
  /** Which request each idempotency key was first used with. */
  fingerprints: IdempotencyFingerprints;
  bodyLimitBytes: number;
}

/**
 * Registers the `/v1/sessions` routes (authentication is the caller's hook): create a
 * session over a document, ask questions in it (each an analysis, followed at
 * `/v1/analyses/:id`), read it.
 */
export async function sessionRoutes(app: FastifyInstance, options: SessionRoutesOptions) {
  const { client, guard, bodyLimitBytes, fingerprints } = options;

  app.post(
    "/v1/sessions",
    {
      bodyLimit: bodyLimitBytes,
      schema: createSessionSchema,
      config: { swaggerTransform: withDocumentedBodies(sessionUploadBodies) },
    },
    async (request, reply) => {
      const input = await readSessionRequest(request, bodyLimitBytes);
      const key = input.idempotencyKey;
      // Keys of sessions apart from those of analyses; a session has no query.
      const claim =
        key === undefined
          ? undefined
          : {
              key: `sessions/${key}`,
              fingerprint: requestFingerprint({ query: "", ...input }),
            };
      const created = await guard.run(() =>
        withClaim(fingerprints, claim, () => client.sessions.create(input)),
      );
      if (created.deduplicated) reply.header("idempotent-replayed", "true");
      request.log.info(
        { sessionId: created.id, deduplicated: created.deduplicated },
        "session created",
      );
      return reply.code(201).header("location", `/v1/sessions/${created.id}`).send(created);
    },
  );

  app.get<{ Params: SessionParams }>(
    "/v1/sessions/:id",
    { schema: getSessionSchema },
    async (request) => {
      const view = await guard.run(() => client.sessions.get(request.params.id));
      if (!view) throw notFound(request.params.id);
      return view;
    },
  );

  app.post<{ Params: SessionParams; Body: SessionQuestionBody }>(
    "/v1/sessions/:id/analyses",
    { schema: askSessionSchema },
    async (request, reply) => {
      const { id } = request.params;
      const input = withHeaderKey(jsonBody(request), request.headers["idempotency-key"]);
      const key = input.idempotencyKey;
      // A key is the session's own; a question's context is its session.
      const claim =
        key === undefined
          ? undefined
          : {
              key: `${id}/${key}`,
              fingerprint: requestFingerprint({
                query: input.query,
                context: `session ${id}`,
                ...(input.options ? { options: input.options } : {}),
              }),
            };
      const asked = await guard.run(() =>
        withClaim(fingerprints, claim, () =>
          client.sessions.ask(id, {
            query: input.query,
            ...(input.options ? { options: input.options as SerializableEngineOptions } : {}),
            ...(key === undefined ? {} : { idempotencyKey: key }),
          }),
        ),
      );
      if (asked.deduplicated) reply.header("idempotent-replayed", "true");
      request.log.info(
        {
          sessionId: id,
          analysisId: asked.id,
          position: asked.position,
          deduplicated: asked.deduplicated,
        },
        "session question enqueued",
      );
      return reply
        .code(202)
        .header("location", `/v1/analyses/${asked.id}`)
        .send({
          id: asked.id,
          status: asked.status,
          deduplicated: asked.deduplicated,
          sessionId: asked.sessionId,
          position: asked.position,
          links: { viewer: viewerPath(asked.id) },
        });
    },
  );
}

/**
 * Runs `create` with the idempotency key bound to the request's fingerprint (a 422 when
 * the key was first used with another request). A request refused as invalid, or for a
 * session that does not exist, made nothing: its key is unbound for the corrected one.
 */
async function withClaim<T>(
  fingerprints: IdempotencyFingerprints,
  claim: { key: string; fingerprint: string } | undefined,
  create: () => Promise<T>,
): Promise<T> {
  const bound = claim ? await fingerprints.claim(claim.key, claim.fingerprint) : false;
  try {
    return await create();
  } catch (error) {
    if (bound && claim && isRefusal(error)) await fingerprints.release(claim.key);
    throw error;
  }
}

/** The question's JSON body: another content type is a 415 (the document is the session's). */
function jsonBody(request: FastifyRequest<{ Body: SessionQuestionBody }>): SessionQuestionBody {
  const body: unknown = request.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(
      415,
      ApiErrorCode.unsupportedMediaType,
      "a question is asked as application/json: { query, options?, idempotencyKey? }",
    );
  }
  return body as SessionQuestionBody;
}

function isRefusal(error: unknown): boolean {
  return (
    error instanceof RlmError && (error.code.startsWith("invalid_") || error.code === "not_found")
  );
}

function notFound(id: string): ApiError {
  return new ApiError(404, ApiErrorCode.notFound, `no session ${id}`);
}
