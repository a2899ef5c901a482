import type { RequestKind } from "./options.js";
import { structuredAnswer } from "./structured-answer.js";

/** What a request's `response_format` asks for. */
export type ResponseFormatAsked =
  { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: unknown };

/** A `response_format` the mock cannot take, as OpenAI words the 400. */
export interface ResponseFormatError {
  message: string;
  param: string;
}

/**
 * Reads `response_format` as OpenAI validates it: absent or `text`, `json_object`, or
 * `json_schema` with a `json_schema` object that has a `name`.
 */
export function readResponseFormat(value: unknown): ResponseFormatAsked | ResponseFormatError {
  if (value === undefined || value === null) return { type: "text" };
  const type = isRecord(value) ? value.type : undefined;
  if (type === "text" || type === "json_object") return { type };
  if (type === "json_schema") {
    const spec = isRecord(value) ? value.json_schema : undefined;
    if (!isRecord(spec) || typeof spec.name !== "string" || spec.name === "") {
      return {
        message: "Missing required parameter: 'response_format.json_schema.name'.",
        param: "response_format.json_schema.name",
      };
    }
    return { type, schema: spec.schema };
  }
  return {
    message: `Invalid value: '${String(type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`,
    param: "response_format.type",
  };
}

/** OpenAI's words for a model without Structured Outputs (what `rejectResponseFormat` sends). */
export const RESPONSE_FORMAT_REFUSAL =
  "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. " +
  "Learn more about supported models at the Structured Outputs guide: " +
  "https://platform.openai.com/docs/guides/structured-outputs";

/**
 * The reply's text in the format asked for. Sub-calls answer in it: with a schema, the
 * JSON of {@link structuredAnswer}; `json_object` wraps the answer as `{"answer": …}`.
 * Root turns write code and prose whatever the format (the engine never asks them for one).
 */
export function formatReply(
  content: string,
  kind: RequestKind,
  format: ResponseFormatAsked,
  prompted?: PromptedJson,
): string {
  if (kind === "sub" && format.type === "text" && prompted) return promptedReply(content, prompted);
  if (kind !== "sub" || format.type === "text") return content;
  if (format.type === "json_object") return JSON.stringify({ answer: content });
  return JSON.stringify(structuredAnswer(content, format.schema));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * JSON asked for in the prompt rather than by `response_format` (a provider without
 * Structured Outputs): the schema the system prompt gives, whether this is the engine's
 * second request after an answer it could not use, and whether the model writes loose
 * JSON first (habit `loose-json`).
 */
export interface PromptedJson {
  schema: unknown;
  retry: boolean;
  loose: boolean;
}

/** The line before the schema in a sub-call's system prompt (core's `jsonAnswerInstruction`). */
const PROMPTED_SCHEMA = /matching this JSON Schema[^\n]*\n(\{[^\n]*\})/;

/** The JSON a sub-call's prompt asks for, if it does. */
export function promptedJson(
  messages: ReadonlyArray<{ role: string; content: string }>,
  loose: boolean,
): PromptedJson | undefined {
  const system = messages.find((message) => message.role === "system")?.content ?? "";
  const match = PROMPTED_SCHEMA.exec(system);
  if (!match?.[1]) return undefined;
  let schema: unknown;
  try {
    schema = JSON.parse(match[1]);
  } catch {
    return undefined;
  }
  const retry = messages.some(
    (message) => message.role === "user" && message.content.startsWith("That reply cannot be used"),
  );
  return { schema, retry, loose };
}

/**
 * What models without Structured Outputs write when asked for JSON: the value in a
 * ```json fence, although told not to; with `loose`, first with every number quoted (which
 * a schema asking for numbers refuses), then right once told what was wrong.
 */
function promptedReply(content: string, prompted: PromptedJson): string {
  const value = structuredAnswer(content, prompted.schema);
  const written = prompted.loose && !prompted.retry ? quoteNumbers(value) : value;
  return `\`\`\`json\n${JSON.stringify(written, null, 2)}\n\`\`\``;
}

function quoteNumbers(value: unknown): unknown {
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map(quoteNumbers);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, quoteNumbers(item)]),
    );
  }
  return value;
}
