import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { toPlainMessages } from "./conversation.js";
import { decideFault } from "./faults.js";
import { delay, now, Release, sendJson, sendRaw, untilReleased } from "./http-io.js";
import {
  type CompletionMeta,
  completionBody,
  errorBody,
  estimateTokens,
  streamChunks,
  usageOf,
} from "./openai-format.js";
import type { MockLlmSettings } from "./options.js";
import type { Prng } from "./prng.js";
import {
  formatReply,
  promptedJson,
  RESPONSE_FORMAT_REFUSAL,
  readResponseFormat,
} from "./response-format.js";
import type { RequestRecorder } from "./recorder.js";
import { respond } from "./responder.js";

/** What the handler needs from the server around it. */
export interface ChatDeps {
  settings(): MockLlmSettings;
  faultRandom: () => Prng;
  jitterRandom: () => Prng;
  recorder: RequestRecorder;
  /**
   * Registers a request's release for when the server stops, so hanging and delayed
   * requests end; returns the function that unregisters it.
   */
  onStop(release: Release): () => void;
}

/** Handles `POST /v1/chat/completions` (its whole body), streaming or not, with latency and faults. */
export async function handleChatCompletion(
  requestBody: Buffer,
  res: ServerResponse,
  deps: ChatDeps,
): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(requestBody.toString("utf8"));
  } catch (error) {
    sendJson(
      res,
      400,
      errorBody(`Could not parse the JSON body: ${message(error)}`, "invalid_request_error", null),
    );
    return;
  }
  if (
    typeof body !== "object" ||
    body === null ||
    !Array.isArray((body as { messages?: unknown }).messages)
  ) {
    sendJson(res, 400, errorBody("'messages' is a required array.", "invalid_request_error", null));
    return;
  }
  const request = body as {
    model?: unknown;
    messages: unknown[];
    stream?: unknown;
    stream_options?: { include_usage?: unknown } | null;
    response_format?: unknown;
  };
  const format = readResponseFormat(request.response_format);
  if ("message" in format) {
    sendJson(res, 400, errorBody(format.message, "invalid_request_error", null, format.param));
    return;
  }
  const settings = deps.settings();
  const model =
    typeof request.model === "string" && request.model.length > 0 ? request.model : "mock-model";
  const messages = toPlainMessages(request.messages);
  const stream = request.stream === true;
  const includeUsage = stream && request.stream_options?.include_usage === true;
  const promptChars = messages.reduce((sum, m) => sum + m.content.length, 0);
  const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const reply = respond(messages, settings);
  const fault = decideFault(
    settings.faults,
    settings.faultKinds,
    reply.kind,
    lastUser,
    deps.faultRandom(),
  );

  const record = deps.recorder.start(
    {
      model,
      kind: reply.kind,
      startedAt: now(),
      stream,
      ...(format.type === "text" ? {} : { responseFormat: format.type }),
      promptTokens: estimateTokens(promptChars),
      completionTokens: 0,
      ...(fault ? { fault } : {}),
      ...(reply.strategy ? { strategy: reply.strategy } : {}),
      ...(reply.step ? { step: reply.step } : {}),
    },
    { model, messages: request.messages, chars: promptChars },
  );
  const finish = (status: number) => {
    record.status = status;
    record.endedAt = now();
  };

  // Released when the client goes away or the server stops.
  const gone = new Release();
  const onClose = () => gone.release();
  res.once("close", onClose);
  const unregister = deps.onStop(gone);
  try {
    if (fault === "hang") {
      await untilReleased(gone);
      finish(0);
      res.destroy();
      return;
    }
    const jitter = settings.jitterMs > 0 ? deps.jitterRandom()() * settings.jitterMs : 0;
    if (!(await delay(settings.latencyMs + jitter, gone))) {
      finish(0);
      res.destroy();
      return;
    }
    if (format.type === "json_schema" && settings.rejectResponseFormat) {
      finish(400);
      sendJson(res, 400, errorBody(RESPONSE_FORMAT_REFUSAL, "invalid_request_error", null));
      return;
    }
    const meta: CompletionMeta = {
      id: `chatcmpl-${randomUUID().replace(/-/g, "")}`,
      model,
      created: Math.floor(Date.now() / 1000),
    };
    switch (fault) {
      case "bad_request":
        finish(400);
        sendJson(
          res,
          400,
          errorBody(
            "Invalid request: the message was rejected by the mock (badRequestWhen).",
            "invalid_request_error",
            "invalid_request",
          ),
        );
        return;
      case "rate_limit": {
        const seconds = settings.faults.retryAfterSeconds;
        finish(429);
        sendJson(
          res,
          429,
          errorBody(
            `Rate limit reached for ${model}. Please try again in ${seconds}s.`,
            "requests",
            "rate_limit_exceeded",
          ),
          { "retry-after": String(seconds), "retry-after-ms": String(Math.round(seconds * 1000)) },
        );
        return;
      }
      case "server_error":
        finish(500);
        sendJson(
          res,
          500,
          errorBody("The server had an error while processing your request.", "server_error", null),
        );
        return;
      case "malformed": {
        finish(200);
        const full = JSON.stringify(
          completionBody(meta, reply.content, usageOf(promptChars, reply.content)),
        );
        if (stream) {
          res.writeHead(200, sseHeaders());
          res.end(`data: ${full.slice(0, Math.floor(full.length / 2))}\n\n`);
        } else {
          sendRaw(res, 200, full.slice(0, Math.floor(full.length / 2)));
        }
        return;
      }
      default: {
        const prompted = promptedJson(messages, settings.habits.includes("loose-json"));
        const content =
          fault === "empty" ? "" : formatReply(reply.content, reply.kind, format, prompted);
        const usage = usageOf(promptChars, content);
        record.completionTokens = usage.completion_tokens;
        finish(200);
        if (!stream) {
          sendJson(res, 200, completionBody(meta, content, usage));
          return;
        }
        res.writeHead(200, sseHeaders());
        for (const chunk of streamChunks(meta, content, includeUsage ? usage : undefined)) {
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
        res.end("data: [DONE]\n\n");
      }
    }
  } finally {
    res.off("close", onClose);
    unregister();
  }
}

function sseHeaders(): Record<string, string> {
  return {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
