import type { RlmContext } from "@rlm/core";
import type { EnqueueAnalysisInput, SerializableEngineOptions } from "@rlm/queue";
import type { FastifyRequest } from "fastify";
import {
  type AnalysisQuerystring,
  analysisFieldsSchema,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "./analysis-schemas.js";
import { ApiError, ApiErrorCode } from "./api-error.js";
import { checkJsonDepth } from "./body-parsers.js";
import { readMultipartAnalysis } from "./multipart-analysis.js";
import { describeSchemaErrors, type SchemaError } from "./validation-message.js";

/** The validated `application/json` body. */
interface JsonAnalysisBody {
  query: string;
  context: RlmContext;
  options?: SerializableEngineOptions;
  idempotencyKey?: string;
  webhook?: { url: string };
}

/**
 * Turns a `POST /v1/analyses` request into the producer's input, whatever its body:
 *
 * - `application/json`: `{ query, context, options?, idempotencyKey?, webhook? }`,
 *   already checked by the route's schema;
 * - `multipart/form-data`: fields `query`, `options` and `webhook` (JSON text),
 *   `idempotencyKey` and the document as part `context`;
 * - `text/*`: the body is the document; `query`, `options`, `idempotencyKey`, `webhook`
 *   come from the query string.
 *
 * The `Idempotency-Key` header is accepted too (it must agree with a key in the body).
 * Fields of the last two forms are checked against the same JSON schema as the first.
 */
export async function readAnalysisRequest(
  request: FastifyRequest<{ Querystring: AnalysisQuerystring }>,
  limitBytes: number,
): Promise<EnqueueAnalysisInput> {
  let input: EnqueueAnalysisInput;
  if (request.isMultipart()) {
    const { fields, context } = await readMultipartAnalysis(request, limitBytes);
    input = withContext(validateFields(request, parseJsonFields(fields)), context);
  } else if (typeof request.body === "string") {
    const { query, options, idempotencyKey, webhook } = request.query;
    const fields: Record<string, unknown> = { query, options, idempotencyKey, webhook };
    input = withContext(validateFields(request, parseJsonFields(fields)), request.body);
  } else if (request.body !== undefined && request.body !== null) {
    const { context, ...fields } = request.body as JsonAnalysisBody;
    input = withContext(fields, context);
  } else {
    throw invalid("a request body is required");
  }
  return withHeaderKey(input, request.headers["idempotency-key"]);
}

type AnalysisFields = Omit<EnqueueAnalysisInput, "context">;

function validateFields(request: FastifyRequest, fields: Record<string, unknown>): AnalysisFields {
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const validate = request.compileValidationSchema(analysisFieldsSchema);
  if (!validate(defined)) {
    throw invalid(describeSchemaErrors((validate.errors ?? []) as SchemaError[], "body"));
  }
  return defined as unknown as AnalysisFields;
}

/** `options` and `webhook` travel as JSON text in forms and query strings. */
function parseJsonFields(fields: Record<string, unknown>): Record<string, unknown> {
  const parsed = { ...fields };
  for (const name of ["options", "webhook"] as const) {
    const value = fields[name];
    if (typeof value !== "string") {
      // A multipart field sent as application/json arrives parsed.
      checkJsonDepth(value, name);
      continue;
    }
    try {
      parsed[name] = JSON.parse(value);
    } catch {
      throw invalid(`${name} is not valid JSON`);
    }
    checkJsonDepth(parsed[name], name);
  }
  return parsed;
}

function withContext(
  fields: AnalysisFields,
  context: RlmContext | undefined,
): EnqueueAnalysisInput {
  if (context === undefined) throw invalid("context is required");
  if (typeof context === "string" && context.length === 0) {
    throw invalid("context must not be empty");
  }
  return { ...fields, context };
}

function withHeaderKey(
  input: EnqueueAnalysisInput,
  header: string | string[] | undefined,
): EnqueueAnalysisInput {
  if (header === undefined) return input;
  if (Array.isArray(header)) throw invalid("Idempotency-Key must be given once");
  if (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalid(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (input.idempotencyKey !== undefined && input.idempotencyKey !== header) {
    throw invalid("the Idempotency-Key header and idempotencyKey in the body differ");
  }
  return { ...input, idempotencyKey: header };
}

function invalid(message: string): ApiError {
  return new ApiError(400, ApiErrorCode.invalidRequest, message);
}
