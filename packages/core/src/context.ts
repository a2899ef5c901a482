/** Any JSON value. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The document an analysis runs over, exposed to the REPL as `context`: a string, an
 * array of strings, or a JSON object/array.
 */
export type RlmContext = string | string[] | { [key: string]: JsonValue } | JsonValue[];

/** A JSON object (a JSON Schema, say). */
export type JsonObject = { [key: string]: JsonValue };
