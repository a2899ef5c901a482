import type { RlmContext } from "@rlm/core";
import type { EnqueueAnalysisInput } from "@rlm/queue";
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
  const { fields, context } = await readDocumentRequest(request, limitBytes, analysisFieldsSchema);
  return withHeaderKey(
    { ...(fields as AnalysisFields), context },
    request.headers["idempotency-key"],
  );
}

/** What the fields of a request with a document are checked against (`type: object`). */
export interface DocumentFieldsSchema {
  readonly properties: Readonly<Record<string, unknown>>;
}

/**
 * A document and the fields beside it, from a JSON, multipart or text body, as
 * `readAnalysisRequest` reads them: in a text body, the fields `fieldsSchema` names come
 * from the query string. Fields of multipart and text bodies are checked against
 * `fieldsSchema` here (a JSON body was checked by the route's schema); `options` may
 * come as JSON text.
 */
export async function readDocumentRequest(
  request: FastifyRequest,
  limitBytes: number,
  fieldsSchema: DocumentFieldsSchema,
): Promise<{ fields: Record<string, unknown>; context: RlmContext }> {
  if (request.isMultipart()) {
    const { fields, context } = await readMultipartAnalysis(request, limitBytes);
    return withContext(validateFields(request, parseJsonFields(fields), fieldsSchema), context);
  }
  if (typeof request.body === "string") {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const fields = Object.fromEntries(
      Object.keys(fieldsSchema.properties).map((name) => [name, query[name]]),
    );
    return withContext(
      validateFields(request, parseJsonFields(fields), fieldsSchema),
      request.body,
    );
  }
  if (request.body !== undefined && request.body !== null) {
    const { context, ...fields } = request.body as { context?: RlmContext };
    return withContext(fields, context);
  }
  throw invalid("a request body is required");
}

type AnalysisFields = Omit<EnqueueAnalysisInput, "context">;

function validateFields(
  request: FastifyRequest,
  fields: Record<string, unknown>,
  schema: DocumentFieldsSchema,
): Record<string, unknown> {
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const validate = request.compileValidationSchema(schema);
  if (!validate(defined)) {
    throw invalid(describeSchemaErrors((validate.errors ?? []) as SchemaError[], "body"));
  }
  return defined;
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
  fields: Record<string, unknown>,
  context: RlmContext | undefined,
): { fields: Record<string, unknown>; context: RlmContext } {
  if (context === undefined) throw invalid("context is required");
  if (typeof context === "string" && context.length === 0) {
    throw invalid("context must not be empty");
  }
  return { fields, context };
}

/**
 * The `Idempotency-Key` header into the input: it must be given once, 1 to 256
 * characters, and agree with a key in the body.
 */
export function withHeaderKey<T extends { idempotencyKey?: string }>(
  input: T,
  header: string | string[] | undefined,
): T {
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
