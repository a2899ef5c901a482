/**
 * A rough token count for text whose real count the provider did not report: one token per
 * four characters, rounded up. Good enough for budgets and cost estimates of English text;
 * it undercounts code and non-Latin scripts.
 */
export function estimateTokens(text: string): number {
  return estimateTokensOfLength(text.length);
}

/** {@link estimateTokens} of a text of `chars` UTF-16 code units. */
export function estimateTokensOfLength(chars: number): number {
  return Math.ceil(chars / 4);
}
