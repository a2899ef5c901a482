import type { RlmContext } from "@rlm/core";
import type { FastifyRequest } from "fastify";
import { ApiError, ApiErrorCode } from "./api-error.js";

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
 * anything else is UTF-8 text.
 */
export async function readMultipartAnalysis(
  request: FastifyRequest,
  limitBytes: number,
): Promise<MultipartAnalysis> {
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
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!json) return body;
  try {
    return JSON.parse(body) as RlmContext;
  } catch {
    throw invalid("context is not valid JSON");
  }
}

function invalid(message: string): ApiError {
  return new ApiError(400, ApiErrorCode.invalidRequest, message);
}
