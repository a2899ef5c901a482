import { randomBytes } from "node:crypto";

// RFC 4648 base32, lower case: url-safe, no `:`, readable in logs.
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * A new analysis id: `an_` + 20 random base32 characters (100 bits). It is used as the
 * BullMQ job id, which must not contain `:` nor be all digits; the `an_` prefix rules
 * out both.
 */
export function newAnalysisId(): string {
  const bytes = randomBytes(20);
  let id = "an_";
  // 32 symbols: the low 5 bits of a byte are uniform, no modulo bias.
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}

/** True for strings shaped like `newAnalysisId()` output (cheap input check for APIs). */
export function isAnalysisId(value: string): boolean {
  return /^an_[a-z2-7]{20}$/.test(value);
}
