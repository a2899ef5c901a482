import { Ajv, type ValidateFunction } from "ajv";
import type { JsonObject } from "../context.js";
import { InvalidOptionsError } from "../errors.js";

/**
 * One Ajv instance for every schema of the process. `strict: false`: schemas written for
 * OpenAI's structured outputs carry keywords Ajv's strict mode refuses (and that mean
 * nothing to validation); `allErrors`: the model is told every problem in one turn.
 */
const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<JsonObject, ValidateFunction>();

/**
 * The validator of a JSON Schema, compiled once per schema object.
 *
 * @throws {InvalidOptionsError} when the schema itself is invalid.
 */
export function schemaValidator(schema: JsonObject, what = "outputSchema"): ValidateFunction {
  const known = compiled.get(schema);
  if (known) return known;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidOptionsError(`invalid options: ${what} is not a valid JSON Schema: ${reason}`);
  }
  compiled.set(schema, validate);
  return validate;
}

/** Ajv's errors as lines a model (or a person) can act on: `/count: must be integer`. */
export function describeSchemaErrors(validate: ValidateFunction, limit = 10): string {
  const errors = validate.errors ?? [];
  const lines = errors.slice(0, limit).map((error) => {
    const where = error.instancePath === "" ? "(the value)" : error.instancePath;
    // Ajv's message does not say which property was one too many.
    const detail =
      error.keyword === "additionalProperties"
        ? ` (${String((error.params as { additionalProperty?: unknown }).additionalProperty)})`
        : "";
    return `- ${where}: ${error.message ?? "is invalid"}${detail}`;
  });
  if (errors.length > limit) lines.push(`- … and ${errors.length - limit} more`);
  return lines.join("\n");
}
