import { type RlmContext, RlmError } from "@rlm/core";

/** Rejects what cannot be analysed, with one clear message (code `invalid_input`). */
export function validateAnalysisInput(
  query: unknown,
  context: unknown,
): asserts context is RlmContext {
  if (typeof query !== "string" || query.trim().length === 0) {
    throw new RlmError("invalid_input", "query must be a non-empty string");
  }
  if (typeof context === "string") {
    if (context.length === 0) throw new RlmError("invalid_input", "context is empty");
    return;
  }
  if (Array.isArray(context)) {
    if (context.length === 0) throw new RlmError("invalid_input", "context is an empty array");
    return;
  }
  if (context !== null && typeof context === "object") {
    if (Object.keys(context).length === 0) {
      throw new RlmError("invalid_input", "context is an empty object");
    }
    return;
  }
  throw new RlmError(
    "invalid_input",
    "context must be a string, an array of strings or a JSON object",
  );
}
