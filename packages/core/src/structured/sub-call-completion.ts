import type { JsonObject } from "../context.js";
import { RlmError, toRlmError } from "../errors.js";
import type { ChatMessage, ModelClient, ModelRequest, ModelResponse } from "../model.js";
import { subCallMessages } from "../prompts.js";
import { parseStructuredAnswer } from "./structured-answer.js";

/** One plain sub-call to complete: a question over a text, optionally for typed JSON. */
export interface SubCallCompletionInput {
  /** The client, which also keys the memo of models that refused `response_format`. */
  client: ModelClient;
  /** Makes one model call (within the caller's slots and budgets). */
  call: (request: ModelRequest) => Promise<ModelResponse>;
  /** Everything of the request but its messages: model, signal, limits. */
  request: Omit<ModelRequest, "messages" | "responseFormat">;
  query: string;
  text: string | undefined;
  /** The JSON Schema the answer must match (`recursiveLm(q, ctx, { schema })`). */
  schema?: JsonObject;
}

/** How a sub-call ended, with every model response it took (for usage). */
export interface SubCallCompletion {
  /** The answer (for a schema: the JSON text of the validated value). */
  content?: string;
  /** Why there is no answer. */
  error?: RlmError;
  responses: ModelResponse[];
}

/** Models (per client) that refused `response_format`: asked by prompt from then on. */
const refusedByClient = new WeakMap<ModelClient, Set<string>>();

/**
 * Completes a plain sub-call. Without a schema: one model call. With one: the provider is
 * asked for JSON matching it (`response_format: json_schema`) unless it refused that
 * before; the reply is parsed (```json fences and `<think>` stripped) and validated, and
 * one more call with the validator's messages is made when it does not match. A reply
 * that still does not match is the error `invalid_structured_output`, which the calling
 * code sees. Model errors other than a refused `response_format` are thrown.
 */
export async function completeSubCall(input: SubCallCompletionInput): Promise<SubCallCompletion> {
  const messages = subCallMessages(input.query, input.text, input.schema);
  if (!input.schema) {
    const response = await input.call({ ...input.request, messages });
    return { content: response.content, responses: [response] };
  }
  const schema = input.schema;
  const responses: ModelResponse[] = [];
  const first = await firstStructuredCall(input, schema, messages);
  responses.push(first);
  const checked = parseStructuredAnswer(first.content, schema);
  if (checked.ok) return { content: checked.json, responses };

  // Once more, with what was wrong: models fix a wrapped or slightly-off JSON when told.
  const retry = await input.call({
    ...input.request,
    messages: [
      ...messages,
      { role: "assistant", content: first.content },
      {
        role: "user",
        content: `That reply cannot be used: ${checked.problems}\nReply with only the corrected JSON value.`,
      },
    ],
  });
  responses.push(retry);
  const again = parseStructuredAnswer(retry.content, schema);
  if (again.ok) return { content: again.json, responses };
  return {
    responses,
    error: new RlmError(
      "invalid_structured_output",
      `the sub-model's answer did not match the schema after a retry: ${again.problems}`,
      { retryable: false },
    ),
  };
}

/** The first call: with `response_format` where the provider takes it. */
async function firstStructuredCall(
  input: SubCallCompletionInput,
  schema: JsonObject,
  messages: ChatMessage[],
): Promise<ModelResponse> {
  const model = input.request.model;
  const refused = refusedByClient.get(input.client);
  if (refused?.has(model)) return input.call({ ...input.request, messages });
  try {
    return await input.call({
      ...input.request,
      messages,
      responseFormat: { type: "json_schema", json_schema: { name: "answer", schema } },
    });
  } catch (error) {
    if (toRlmError(error).code !== "unsupported_response_format") throw error;
    const models = refused ?? new Set<string>();
    models.add(model);
    refusedByClient.set(input.client, models);
    return input.call({ ...input.request, messages });
  }
}
