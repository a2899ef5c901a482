/**
 * A rough token count for text whose real count the provider did not report: one token per
 * four characters, rounded up. Good enough for budgets and cost estimates of English text;
 * it undercounts code and non-Latin scripts.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
