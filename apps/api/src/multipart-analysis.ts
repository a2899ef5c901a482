import { isUtf8 } from "node:buffer";
import type { RlmContext } from "@rlm/core";
import type { FastifyRequest } from "fastify";
import { ApiError, ApiErrorCode } from "./api-error.js";
import { checkJsonDepth, stripBom } from "./body-parsers.js";

/** What a `multipart/form-data` request carries, before validation of the fields. */
export interface MultipartAnalysis {
  /** `query`, `options`, `idempotencyKey` (form field values; `options` may be parsed JSON). */
  fields: Record<string, unknown>;
  context: RlmContext | undefined;
}

const MAX_FIELDS = 8;

/**
 * Reads a multipart analysis request: text fields plus the document as the `context`
 * part (a file, or a plain field for `curl -F context=<file`). The upload is streamed
 * through busboy with `limitBytes` as the size limit of each part and checked against
 * it in total; going over is a 413 (`RequestFileTooLargeError`), never a silently
 * truncated document.
 *
 * A `context` part named `*.json` or sent as `application/json` is parsed as JSON;
 * anything else is UTF-8 text (a file part that is not UTF-8 is a 400). A body busboy
 * cannot parse (cut short, no boundary, a malformed part header) is a 400 naming the
 * problem, never a 500.
 */
export async function readMultipartAnalysis(
  request: FastifyRequest,
  limitBytes: number,
): Promise<MultipartAnalysis> {
  try {
    return await readParts(request, limitBytes);
  } catch (error) {
    throw asRequestError(error);
  }
}

async function readParts(request: FastifyRequest, limitBytes: number): Promise<MultipartAnalysis> {
  const fields: Record<string, unknown> = {};
  let context: RlmContext | undefined;
  let total = 0;
  const count = (bytes: number) => {
    total += bytes;
    if (total > limitBytes) {
      throw new ApiError(413, ApiErrorCode.payloadTooLarge, "request body is larger than allowed");
    }
  };
  const parts = request.parts({
    limits: {
      fileSize: limitBytes,
      fieldSize: limitBytes,
      files: 1,
      fields: MAX_FIELDS,
      parts: MAX_FIELDS + 1,
    },
  });
  for await (const part of parts) {
    if (part.fieldname !== "context" && fields[part.fieldname] !== undefined) {
      throw invalid(`field ${part.fieldname} is given twice`);
    }
    if (part.type === "file") {
      if (part.fieldname !== "context") {
        throw invalid(`file part ${part.fieldname} is not expected (the document is "context")`);
      }
      if (context !== undefined) throw invalid("context is given twice");
      // Throws a 413 once the part passes fileSize (the stream is read to its end first).
      const buffer = await part.toBuffer();
      count(buffer.length);
      if (!isUtf8(buffer)) throw invalid("the context file is not valid UTF-8");
      context = decodeDocument(buffer.toString("utf8"), isJsonPart(part.filename, part.mimetype));
      continue;
    }
    if (part.valueTruncated || part.fieldnameTruncated) {
      throw new ApiError(413, ApiErrorCode.payloadTooLarge, `field ${part.fieldname} is too large`);
    }
    const value: unknown = part.value;
    count(typeof value === "string" ? Buffer.byteLength(value) : 0);
    if (part.fieldname === "context") {
      if (context !== undefined) throw invalid("context is given twice");
      // @fastify/multipart has already parsed a field sent as application/json.
      if (typeof value !== "string") checkJsonDepth(value, "context");
      context = typeof value === "string" ? decodeDocument(value, false) : (value as RlmContext);
      continue;
    }
    fields[part.fieldname] = value;
  }
  return { fields, context };
}

function isJsonPart(filename: string, mimetype: string): boolean {
  return (
    filename.toLowerCase().endsWith(".json") || /^application\/([\w.+-]+\+)?json\b/i.test(mimetype)
  );
}

function decodeDocument(text: string, json: boolean): RlmContext {
  // A byte order mark is an encoding artefact, not part of the document.
  const body = stripBom(text);
  if (!json) return body;
  let parsed: RlmContext;
  try {
    parsed = JSON.parse(body) as RlmContext;
  } catch {
    throw invalid("context is not valid JSON");
  }
  checkJsonDepth(parsed, "context");
  return parsed;
}

/** @fastify/multipart's codes that mean "your request", answered as 400 or 415. */
const MULTIPART_CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, message: "the request is not multipart" },
  FST_INVALID_JSON_FIELD_ERROR: {
    status: 400,
    message: "a field declared as application/json is not valid JSON",
  },
};

/**
 * Errors of the multipart reader as the client should hear them. Busboy's own errors
 * ("Unexpected end of form", "Malformed part header", "Multipart: Boundary not found")
 * carry no status: they describe the request, so they become 400s with their message.
 * Limits (413) and our own ApiErrors pass as they are.
 */
function asRequestError(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  const { code, statusCode, message } = error as {
    code?: string;
    statusCode?: number;
    message?: string;
  };
  const known = code === undefined ? undefined : MULTIPART_CLIENT_ERRORS[code];
  if (known) {
    const apiCode =
      known.status === 415 ? ApiErrorCode.unsupportedMediaType : ApiErrorCode.invalidRequest;
    return new ApiError(known.status, apiCode, known.message);
  }
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) return error;
  if (error instanceof Error) {
    return invalid(`the multipart body is malformed: ${message ?? "unreadable"}`);
  }
  return error;
}

function invalid(message: string): ApiError {
  return new ApiError(400, ApiErrorCode.invalidRequest, message);
}
