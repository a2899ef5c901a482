import { isUtf8 } from "node:buffer";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError, ApiErrorCode } from "./api-error.js";

/**
 * Deepest nesting of arrays and objects accepted anywhere in a JSON body (the body
 * object itself is level 1). Deeper JSON parses fine (V8's parser is iterative) but
 * overflows the stack of every recursive step after it: `JSON.stringify` when the
 * document is stored, Ajv on an output schema. 256 is far beyond any real document.
 */
export const MAX_JSON_DEPTH = 256;

/** Charsets a text or JSON body may declare: UTF-8 and its ASCII subset. */
const UTF8_CHARSETS = new Set(["utf-8", "utf8", "us-ascii", "ascii"]);

/**
 * Replaces Fastify's `application/json` and `text/plain` parsers, and adds one for any
 * other `text/*` type (markdown, CSV, logs are documents too). Each reads the body as
 * bytes and answers 400 instead of guessing:
 *
 * - bytes that are not UTF-8: Fastify's own parsers would decode them to U+FFFD and a
 *   corrupted document would be analysed without anyone knowing;
 * - JSON deeper than `MAX_JSON_DEPTH`;
 * - a declared charset other than UTF-8: 415.
 *
 * A leading byte order mark is dropped (an encoding artefact, not content). Empty and
 * invalid JSON keep Fastify's answers (400 `FST_ERR_CTP_EMPTY_JSON_BODY` / `…_INVALID_JSON_BODY`).
 */
export function registerBodyParsers(app: FastifyInstance, bodyLimitBytes: number): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer", bodyLimit: bodyLimitBytes },
    (request, body, done) => {
      let value: unknown;
      try {
        const text = decodeUtf8(request, body as Buffer);
        // Fastify's parser answers through a callback, synchronously.
        let failure: Error | null = null;
        parseJson(request, text, (error, parsed) => {
          failure = error;
          value = parsed;
        });
        if (failure) throw failure;
        checkJsonDepth(value, "the body");
      } catch (error) {
        done(error as Error, undefined);
        return;
      }
      done(null, value);
    },
  );
  app.addContentTypeParser(
    /^text\//,
    { parseAs: "buffer", bodyLimit: bodyLimitBytes },
    (request, body, done) => {
      try {
        done(null, decodeUtf8(request, body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

/** The body as text: UTF-8 only, without a byte order mark. */
function decodeUtf8(request: FastifyRequest, body: Buffer): string {
  const charset = charsetOf(request.headers["content-type"]);
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
    throw new ApiError(
      415,
      ApiErrorCode.unsupportedMediaType,
      `charset ${charset} is not accepted: send UTF-8`,
    );
  }
  if (!isUtf8(body)) {
    throw new ApiError(400, ApiErrorCode.invalidRequest, "the body is not valid UTF-8");
  }
  return stripBom(body.toString("utf8"));
}

/** The lower-cased `charset` parameter of a content type, if any. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? "");
  return match?.[1]?.toLowerCase();
}

/** A text without its leading byte order mark. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Throws a 400 when `value` nests arrays and objects deeper than `maxDepth`. Walks with
 * an explicit stack: recursion here would overflow on exactly the input it refuses.
 */
export function checkJsonDepth(value: unknown, what: string, maxDepth = MAX_JSON_DEPTH): void {
  if (typeof value !== "object" || value === null) return;
  const stack: Array<{ value: object; depth: number }> = [{ value, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > maxDepth) {
      throw new ApiError(
        400,
        ApiErrorCode.invalidRequest,
        `${what} nests arrays and objects more than ${maxDepth} levels deep`,
      );
    }
    const children = Array.isArray(item.value) ? item.value : Object.values(item.value);
    for (const child of children) {
      if (typeof child === "object" && child !== null) {
        stack.push({ value: child as object, depth: item.depth + 1 });
      }
    }
  }
}
