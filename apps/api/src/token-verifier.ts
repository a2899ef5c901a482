import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Checks presented tokens against the API token in constant time, and signs what the
 * server hands out in its stead (the admin session cookie). Both sides of a token
 * comparison are hashed first so `timingSafeEqual` always compares equal-length
 * buffers: comparing raw strings would leak the token's length (and a length mismatch
 * would throw).
 */
export class TokenVerifier {
  private readonly expected: Buffer;
  /** Key of the signatures: derived from the token, so rotating the token voids them. */
  private readonly signingKey: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new Error("apiToken must not be empty");
    this.expected = digest(token);
    this.signingKey = createHmac("sha256", this.expected).update("rlm-admin-session").digest();
  }

  /** True when `presented` is the API token. */
  verify(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0) return false;
    return timingSafeEqual(digest(presented), this.expected);
  }

  /** HMAC-SHA256 of `message`, base64url: only a holder of the token can make one. */
  sign(message: string): string {
    return createHmac("sha256", this.signingKey).update(message).digest("base64url");
  }

  /** True when `signature` is `sign(message)` (constant time). */
  verifySignature(message: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(message));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
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
