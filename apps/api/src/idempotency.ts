import { createHash } from "node:crypto";
import type { EnqueueAnalysisInput } from "@rlm/queue";
import type { RedisClient } from "@rlm/queue";
import { ApiError, ApiErrorCode } from "./api-error.js";

/**
 * How long a key's body fingerprint is kept: the producer's default retention of
 * idempotency keys (7 days), so both are forgotten together.
 */
export const IDEMPOTENCY_TTL_SECONDS = 7 * 86_400;

/**
 * A SHA-256 of what a POST asks for: query, options (keys sorted, so the same options
 * in another order are the same request), webhook URL and document, whatever the body's form (JSON,
 * multipart or text give the same fingerprint for the same analysis). The document is
 * hashed as given, without a copy; a JSON one as its JSON text.
 */
export function requestFingerprint(input: EnqueueAnalysisInput): string {
  const { context } = input;
  const kind = typeof context === "string" ? "string" : "json";
  // JSON text holds no raw newline: the header ends unambiguously at the first one.
  const fields = [input.query, sortedKeys(input.options ?? {}), kind];
  // A webhook only when there is one: fingerprints of requests without stay as they were.
  if (input.webhook !== undefined) fields.push(input.webhook.url);
  const header = JSON.stringify(fields);
  return createHash("sha256")
    .update(`${header}\n`)
    .update(typeof context === "string" ? context : JSON.stringify(context))
    .digest("hex");
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}

/**
 * The fingerprint of the first request made with each idempotency key, stored beside
 * the key (`<prefix>:idem-body:<key>`, next to the producer's `<prefix>:idem:{<key>}`).
 * The producer alone returns the first analysis for a known key whatever the body; this
 * makes a key reused for a different request a 422 instead of a silent wrong answer
 * (as the IETF Idempotency-Key draft asks).
 */
export class IdempotencyFingerprints {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds = IDEMPOTENCY_TTL_SECONDS,
  ) {}

  /**
   * Binds `key` to `fingerprint` unless it is bound already (SET NX: of two racing
   * requests, one wins). Throws a 422 when the key's first request was another one.
   * Returns true when this call bound it.
   */
  async claim(key: string, fingerprint: string): Promise<boolean> {
    const name = this.keyOf(key);
    // Twice at most: the key may expire between the refused SET and the GET.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const set = await this.redis.set(name, fingerprint, "EX", this.ttlSeconds, "NX");
      if (set === "OK") return true;
      const bound = await this.redis.get(name);
      if (bound === null) continue;
      if (bound === fingerprint) return false;
      throw new ApiError(
        422,
        ApiErrorCode.idempotencyKeyReused,
        "this Idempotency-Key was first used with a different request (query, context or " +
          "options): use a new key for a new request",
      );
    }
    return false;
  }

  /**
   * Unbinds a key this request bound, when the request was refused as invalid: nothing
   * was enqueued, and the corrected request may come with the same key.
   */
  async release(key: string): Promise<void> {
    await this.redis.del(this.keyOf(key));
  }

  private keyOf(key: string): string {
    return `${this.prefix}:idem-body:${key}`;
  }
}
