import type { JsonObject, JsonValue } from "../context.js";
import { describeSchemaErrors, schemaValidator } from "./json-schema.js";

/** A text checked against a JSON Schema. */
export type StructuredAnswer =
  { ok: true; value: JsonValue; json: string } | { ok: false; problems: string };

const THINKING = /<think>[\s\S]*?(?:<\/think>|$)/gi;
/** A fenced block (```json, ``` or any tag), its inside captured. */
const FENCED = /^[ \t]*`{3,}[^\n`]*\n([\s\S]*?)\n[ \t]*`{3,}[ \t]*$/m;

/**
 * Parses `text` as JSON and validates it against `schema`. The JSON may come wrapped as
 * models wrap it: in a ```json fence (with prose around), after a `<think>` section.
 */
export function parseStructuredAnswer(text: string, schema: JsonObject): StructuredAnswer {
  const parsed = parseJsonText(text);
  if (!parsed.ok) return parsed;
  return checkStructuredValue(parsed.value, schema);
}

/** Validates a value already parsed. */
export function checkStructuredValue(value: JsonValue, schema: JsonObject): StructuredAnswer {
  const validate = schemaValidator(schema);
  if (!validate(value)) {
    return {
      ok: false,
      problems: `the value does not match the schema:\n${describeSchemaErrors(validate)}`,
    };
  }
  return { ok: true, value, json: JSON.stringify(value) };
}

function parseJsonText(
  text: string,
): { ok: true; value: JsonValue } | { ok: false; problems: string } {
  const cleaned = text.replace(THINKING, "").trim();
  const fenced = FENCED.exec(cleaned)?.[1];
  const candidates = fenced === undefined ? [cleaned] : [fenced.trim(), cleaned];
  let firstError = "";
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) as JsonValue };
    } catch (error) {
      firstError ||= error instanceof Error ? error.message : String(error);
    }
  }
  return { ok: false, problems: `it is not valid JSON (${firstError})` };
}
