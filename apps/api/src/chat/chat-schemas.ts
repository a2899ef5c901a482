/**
 * Schemas of the OpenAI-compatible routes (`POST /v1/chat/completions`, `GET /v1/models`):
 * the request as OpenAI's clients send it (extra fields they add are let through), the
 * answers in OpenAI's shapes, and OpenAI's error body, which these routes answer with
 * instead of the API's own. Components as in common-schemas.ts.
 */

const nullableString = { type: ["string", "null"] } as const;

/** `{ error: { message, type, param, code } }`: OpenAI's error body. */
export const openAiErrorBodySchema = {
  $id: "OpenAiErrorBody",
  type: "object",
  description: "The error body of the OpenAI-compatible routes, as OpenAI's clients read it.",
  required: ["error"],
  additionalProperties: false,
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "param", "code"],
      additionalProperties: false,
      properties: {
        message: { type: "string" },
        type: {
          type: "string",
          description: "invalid_request_error, authentication_error or server_error.",
        },
        param: { ...nullableString, description: "The request field at fault, if one is." },
        code: {
          ...nullableString,
          description:
            "model_not_found, invalid_api_key, invalid_request, analysis_cancelled, the " +
            "analysis's error code when it failed (provider_error…), redis_unavailable, …",
        },
      },
    },
  },
} as const;

const contentPartSchema = {
  type: "object",
  required: ["type"],
  additionalProperties: true,
  properties: {
    type: { type: "string", description: "Only `text` parts are read." },
    text: { type: "string" },
  },
} as const;

/** One message of a conversation. */
const chatMessageSchema = {
  type: "object",
  required: ["role"],
  additionalProperties: true,
  properties: {
    role: {
      type: "string",
      enum: ["system", "developer", "user", "assistant", "tool", "function"],
    },
    content: {
      type: ["string", "array", "null"],
      items: contentPartSchema,
      description: 'Text, or text parts (`[{ type: "text", text }]`).',
    },
    name: { type: "string" },
  },
} as const;

/** The body of `POST /v1/chat/completions`. */
export const chatCompletionRequestSchema = {
  $id: "ChatCompletionRequest",
  type: "object",
  required: ["model", "messages"],
  additionalProperties: true,
  description:
    "OpenAI's chat completion request. The last user message is the query; every other " +
    "message is the context (a lone earlier message as its text, several as an array of " +
    '"role: content" strings). Other OpenAI parameters (temperature, max_tokens, …) are ' +
    "accepted and ignored; `tools` and `n` > 1 are refused.",
  properties: {
    model: {
      type: "string",
      minLength: 1,
      description: '"rlm" (the workers\' root model) or "rlm/<root-model>".',
    },
    messages: { type: "array", minItems: 1, items: chatMessageSchema },
    stream: { type: "boolean" },
    stream_options: {
      type: ["object", "null"],
      additionalProperties: true,
      properties: { include_usage: { type: "boolean" } },
    },
    n: { type: ["integer", "null"], minimum: 1 },
    response_format: {
      type: "object",
      required: ["type"],
      additionalProperties: true,
      description:
        "`json_schema`: the answer is JSON valid against `json_schema.schema` (the " +
        "analysis's outputSchema).",
      properties: {
        type: { type: "string", enum: ["text", "json_object", "json_schema"] },
        json_schema: {
          type: "object",
          additionalProperties: true,
          properties: { schema: { type: "object", additionalProperties: true } },
        },
      },
    },
  },
} as const;

const usageSchema = {
  type: "object",
  required: ["prompt_tokens", "completion_tokens", "total_tokens"],
  additionalProperties: false,
  description: "The whole analysis's tokens: every root turn and sub-call.",
  properties: {
    prompt_tokens: { type: "integer", minimum: 0 },
    completion_tokens: { type: "integer", minimum: 0 },
    total_tokens: { type: "integer", minimum: 0 },
    prompt_tokens_details: {
      type: "object",
      additionalProperties: false,
      properties: { cached_tokens: { type: "integer", minimum: 0 } },
    },
  },
} as const;

/** The `rlm` extension of a completion: the analysis behind it. */
const rlmExtensionSchema = {
  type: "object",
  required: ["analysis_id", "finish_reason", "iterations", "cost_usd"],
  additionalProperties: false,
  description: "The analysis that answered (an extension: OpenAI's clients ignore it).",
  properties: {
    analysis_id: { type: "string", description: "GET /v1/analyses/{id}, the viewer." },
    finish_reason: { type: "string", enum: ["final", "max_iterations", "budget"] },
    iterations: { type: "integer", minimum: 0 },
    cost_usd: { type: ["number", "null"] },
  },
} as const;

/** The answer of a chat completion that does not stream. */
export const chatCompletionSchema = {
  $id: "ChatCompletion",
  type: "object",
  required: ["id", "object", "created", "model", "choices", "usage"],
  additionalProperties: false,
  properties: {
    id: { type: "string", description: "`chatcmpl-<analysis id>`." },
    object: { type: "string", enum: ["chat.completion"] },
    created: { type: "integer", description: "Seconds since the epoch: when it was enqueued." },
    model: { type: "string", description: "The model asked for." },
    system_fingerprint: { type: "null" },
    choices: {
      type: "array",
      minItems: 1,
      maxItems: 1,
      items: {
        type: "object",
        required: ["index", "message", "finish_reason", "logprobs"],
        additionalProperties: false,
        properties: {
          index: { type: "integer", enum: [0] },
          message: {
            type: "object",
            required: ["role", "content", "refusal"],
            additionalProperties: false,
            properties: {
              role: { type: "string", enum: ["assistant"] },
              content: { type: "string" },
              refusal: { type: "null" },
            },
          },
          finish_reason: {
            type: "string",
            enum: ["stop", "length"],
            description: "`length` when a budget ended the analysis.",
          },
          logprobs: { type: "null" },
        },
      },
    },
    usage: usageSchema,
    rlm: rlmExtensionSchema,
  },
} as const;

/** `GET /v1/models`. */
export const modelListSchema = {
  $id: "ModelList",
  type: "object",
  required: ["object", "data"],
  additionalProperties: false,
  properties: {
    object: { type: "string", enum: ["list"] },
    data: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "object", "created", "owned_by"],
        additionalProperties: false,
        properties: {
          id: { type: "string" },
          object: { type: "string", enum: ["model"] },
          created: { type: "integer" },
          owned_by: { type: "string" },
        },
      },
    },
  },
} as const;

/** What each error status means on these routes, for the OpenAPI document. */
const OPENAI_ERROR_MEANINGS = {
  400: "The request is malformed (the message says how), or asks for what RLM cannot do.",
  401: "No valid API key (`Authorization: Bearer <RLM_API_TOKEN>`).",
  404: 'No such model: use "rlm" or "rlm/<root-model>".',
  409: "The analysis was cancelled (DELETE /v1/analyses/{id}, the viewer).",
  413: "The body is larger than the server allows (`RLM_MAX_UPLOAD_MB`).",
  415: "The body is not JSON.",
  422: "The Idempotency-Key was first used with a different request.",
  500: "The analysis failed (code: its error's) or the server did; `x-should-retry` says whether to try again.",
  503: "Redis cannot be reached: try again after `Retry-After` seconds.",
} as const;

/** Response schemas of the given error statuses, each an `OpenAiErrorBody`. */
export function openAiErrorResponses(...statuses: Array<keyof typeof OPENAI_ERROR_MEANINGS>) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: OPENAI_ERROR_MEANINGS[status], $ref: `${openAiErrorBodySchema.$id}#` },
    ]),
  );
}

const tags = ["openai"];

/** `POST /v1/chat/completions`. */
export const createChatCompletionSchema = {
  operationId: "createChatCompletion",
  summary: "An analysis as an OpenAI chat completion",
  description:
    "OpenAI-compatible: point an OpenAI client at this server (base URL `<server>/v1`, " +
    'API key RLM_API_TOKEN, model "rlm" or "rlm/<root-model>"). The conversation ' +
    "becomes an analysis through the queue (its id: `x-rlm-analysis-id`, and `chatcmpl-<id>`); " +
    "the answer comes back as an ordinary completion with the analysis's usage. With " +
    "`stream: true`: `chat.completion.chunk` events, progress as SSE comments " +
    "(`: iteration 2/10 · sub-calls 4/9`), then `data: [DONE]`. An Idempotency-Key header " +
    "makes a retry wait for the same analysis; without one, an analysis is cancelled " +
    "when its client goes away before the answer.",
  tags,
  headers: {
    type: "object",
    properties: {
      "idempotency-key": {
        type: "string",
        description: "A retry with the same key and request waits for the same analysis.",
      },
    },
  },
  body: {
    content: { "application/json": { schema: { $ref: `${chatCompletionRequestSchema.$id}#` } } },
  },
  response: {
    200: {
      description: "The completion, or (`stream: true`) its chunks as server-sent events.",
      headers: {
        "x-rlm-analysis-id": { type: "string", description: "The analysis that answers." },
      },
      content: {
        "application/json": { schema: { $ref: `${chatCompletionSchema.$id}#` } },
        "text/event-stream": {
          schema: {
            type: "string",
            description:
              "`data: <chat.completion.chunk JSON>` events, `: …` progress comments, " +
              "`data: [DONE]` last; an error after the start is `data: { error }`.",
          },
        },
      },
    },
    ...openAiErrorResponses(400, 401, 404, 409, 413, 415, 422, 500, 503),
  },
} as const;

/** `GET /v1/models`. */
export const listModelsSchema = {
  operationId: "listModels",
  summary: "The models of the OpenAI-compatible routes",
  description: 'Only "rlm": any root model is asked for as "rlm/<root-model>".',
  tags,
  response: {
    200: { description: "The models.", $ref: `${modelListSchema.$id}#` },
    ...openAiErrorResponses(401),
  },
} as const;

/** Schemas the OpenAI-compatible routes point at (registered with the server's components). */
export const CHAT_COMPONENT_SCHEMAS = [
  openAiErrorBodySchema,
  chatCompletionRequestSchema,
  chatCompletionSchema,
  modelListSchema,
] as const;
