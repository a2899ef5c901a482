import type { RlmContext } from "./context.js";
import { RlmError } from "./errors.js";

/**
 * Rejects what cannot be analysed, with one clear message (code `invalid_input`, not
 * retryable). Shared by the in-process facade and the queue's producer, so both refuse
 * the same inputs with the same words.
 */
export function validateAnalysisInput(
  query: unknown,
  context: unknown,
): asserts context is RlmContext {
  if (typeof query !== "string" || query.trim() === "") {
    throw invalid("query must be a non-empty string");
  }
  validateContext(context);
}

/** Rejects a context that cannot be analysed (see `validateAnalysisInput`); for a session's. */
export function validateContext(context: unknown): asserts context is RlmContext {
  if (typeof context === "string") {
    // A document of only white space has nothing to analyse.
    if (context.trim() === "") throw invalid("context must not be empty");
  } else if (Array.isArray(context)) {
    if (context.length === 0) throw invalid("context must not be an empty array");
  } else if (isPlainObject(context)) {
    if (Object.keys(context).length === 0) throw invalid("context must not be an empty object");
  } else {
    throw invalid("context must be a string, an array or a plain JSON object");
  }
}

function invalid(message: string): RlmError {
  return new RlmError("invalid_input", message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
