import type { JsonObject } from "@rlm/core";
import type { EnqueueAnalysisInput, RlmQueueClient } from "@rlm/queue";
import type { FastifyInstance, FastifyReply } from "fastify";
import { type EnqueueServices, enqueueFromRequest } from "../analysis-enqueue.js";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "../analysis-schemas.js";
import { streamCompletion } from "../chat/chat-stream.js";
import { createChatCompletionSchema, listModelsSchema } from "../chat/chat-schemas.js";
import {
  chatCompletion,
  completedResult,
  completionIdentity,
  modelOptions,
  RLM_MODEL,
} from "../chat/completion-body.js";
import { type ChatMessage, conversationToAnalysis } from "../chat/conversation.js";
import { followAnalysis } from "../chat/follow-analysis.js";
import { handleOpenAiError, OpenAiError, openAiAuth } from "../chat/openai-errors.js";
import type { EventHub } from "../event-hub.js";
import type { TokenVerifier } from "../token-verifier.js";

/** What the OpenAI-compatible routes need from the server. */
export interface ChatRoutesOptions extends EnqueueServices {
  client: Pick<RlmQueueClient, "enqueueAnalysis" | "getAnalysis" | "cancel">;
  verifier: TokenVerifier;
  events: EventHub;
  bodyLimitBytes: number;
  heartbeatMs: number;
}

/** The body after its schema's checks. */
interface ChatCompletionBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  n?: number | null;
  tools?: unknown[];
  response_format?: { type: string; json_schema?: { schema?: JsonObject } };
}

/**
 * Registers `POST /v1/chat/completions` and `GET /v1/models` in a scope of their own:
 * Bearer authentication and every error in OpenAI's shape, which OpenAI's clients parse.
 * An analysis made here is an analysis like any other (the queue, the viewer, Bull
 * Board, `GET /v1/analyses`).
 */
export async function chatRoutes(app: FastifyInstance, options: ChatRoutesOptions) {
  app.setErrorHandler(handleOpenAiError);
  app.addHook("onRequest", openAiAuth(options.verifier));

  app.get("/v1/models", { schema: listModelsSchema }, async () => ({
    object: "list",
    data: [{ id: RLM_MODEL, object: "model", created: 1_735_689_600, owned_by: "rlm-queue" }],
  }));

  app.post<{ Body: ChatCompletionBody }>(
    "/v1/chat/completions",
    { bodyLimit: options.bodyLimitBytes, schema: createChatCompletionSchema },
    async (request, reply) => {
      const body = request.body;
      const input = analysisInput(body, idempotencyKeyOf(request.headers["idempotency-key"]));
      const enqueued = await enqueueFromRequest(options, input);
      const view = await options.guard.run(() => options.client.getAnalysis(enqueued.id));
      if (view === null) throw new OpenAiError(500, "server_error", "not_found", "analysis gone");
      const identity = completionIdentity(enqueued.id, Date.parse(view.createdAt), body.model);
      request.log.info(
        { analysisId: enqueued.id, deduplicated: enqueued.deduplicated, stream: !!body.stream },
        "chat completion enqueued",
      );
      // A retry with its key may come back for the analysis; without one, nobody will.
      const onClientGone = () => {
        if (input.idempotencyKey !== undefined || enqueued.deduplicated) return;
        request.log.info({ analysisId: enqueued.id }, "chat client gone: analysis cancelled");
        options.client.cancel(enqueued.id).catch(() => undefined);
      };
      if (body.stream === true) {
        reply.hijack();
        await streamCompletion(reply.raw, {
          identity,
          analysisId: enqueued.id,
          events: options.events,
          includeUsage: body.stream_options?.include_usage === true,
          heartbeatMs: options.heartbeatMs,
          readView: () => options.client.getAnalysis(enqueued.id),
          onClientGone,
          log: request.log,
        });
        return reply;
      }
      reply.header("x-rlm-analysis-id", enqueued.id);
      return waitForCompletion(reply, options, enqueued.id, identity, onClientGone);
    },
  );
}

/** The analysis a request asks for, or the 4xx it earns. */
function analysisInput(
  body: ChatCompletionBody,
  idempotencyKey: string | undefined,
): EnqueueAnalysisInput {
  const model = modelOptions(body.model);
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw OpenAiError.invalid("n must be 1: an analysis gives one answer", "n");
  }
  if (body.tools !== undefined && body.tools.length > 0) {
    throw OpenAiError.invalid("tools are not supported: the analysis cannot call them", "tools");
  }
  const format = body.response_format;
  const schema = format?.type === "json_schema" ? format.json_schema?.schema : undefined;
  if (format?.type === "json_schema" && schema === undefined) {
    throw OpenAiError.invalid("response_format.json_schema.schema is required", "response_format");
  }
  const { query, context } = conversationToAnalysis(body.messages);
  return {
    query,
    context,
    options: { ...model, ...(schema ? { outputSchema: schema } : {}) },
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  };
}

function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) || header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw OpenAiError.invalid(
      `Idempotency-Key must be given once, 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return header;
}

/** Waits for the end (the request stays open) and answers with the completion. */
async function waitForCompletion(
  reply: FastifyReply,
  options: ChatRoutesOptions,
  analysisId: string,
  identity: ReturnType<typeof completionIdentity>,
  onClientGone: () => void,
) {
  const controller = new AbortController();
  const onClose = () => {
    if (reply.raw.writableEnded) return;
    controller.abort();
    onClientGone();
  };
  reply.raw.on("close", onClose);
  try {
    const end = await followAnalysis(options.events, analysisId, () => {}, controller.signal);
    if (end !== "ended") {
      throw new OpenAiError(
        503,
        "server_error",
        end === "shutdown" ? "shutting_down" : "client_gone",
        `the answer could not be waited for; analysis ${analysisId} goes on`,
        null,
        true,
      );
    }
    const view = await options.guard.run(() => options.client.getAnalysis(analysisId));
    if (view === null) throw new OpenAiError(500, "server_error", "not_found", "analysis gone");
    return chatCompletion(identity, analysisId, completedResult(view));
  } finally {
    reply.raw.off("close", onClose);
  }
}
