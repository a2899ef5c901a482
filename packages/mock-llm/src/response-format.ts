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
): string {
  if (kind !== "sub" || format.type === "text") return content;
  if (format.type === "json_object") return JSON.stringify({ answer: content });
  return JSON.stringify(structuredAnswer(content, format.schema));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
