import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks presented tokens against the API token in constant time. Both sides are
 * hashed first so `timingSafeEqual` always compares equal-length buffers: comparing
 * raw strings would leak the token's length (and a length mismatch would throw).
 */
export class TokenVerifier {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new Error("apiToken must not be empty");
    this.expected = digest(token);
  }

  /** True when `presented` is the API token. */
  verify(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0) return false;
    return timingSafeEqual(digest(presented), this.expected);
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
