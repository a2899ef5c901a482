/**
 * A sub-model's answer in the shape a `response_format` of type `json_schema` asks for,
 * as a model with Structured Outputs writes it: a JSON value that follows the schema,
 * with its values taken from the answer the model would have given in prose (`answer`,
 * see sub-answerer.ts). So a count question with a schema `{ count: integer }` gets
 * `{"count": 42}`, and the same question without a schema gets `42`.
 *
 * Per schema type: `object` fills every property (Structured Outputs' strict mode makes
 * them all required), `integer` and `number` take the first number in the answer (0 when
 * it has none), `boolean` is whether the answer found something, `string` is the answer
 * (or the `enum` value it mentions, else the first one), `array` holds one item made from
 * the answer (none when nothing was found), `null` is null; `anyOf` / `oneOf` use their
 * first branch, `const` its value. A schema without a type gets the answer as a string.
 */
export function structuredAnswer(answer: string, schema: unknown): unknown {
  return fill(answer, schema, 0);
}

/** Deeper than any schema a test writes; past it the answer is given as a string. */
const MAX_DEPTH = 16;

function fill(answer: string, schema: unknown, depth: number): unknown {
  if (!isRecord(schema) || depth > MAX_DEPTH) return answer;
  if ("const" in schema) return schema.const;
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches) && branches.length > 0) return fill(answer, branches[0], depth + 1);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const lower = answer.toLowerCase();
    const named = schema.enum.find((v) => typeof v === "string" && lower.includes(v.toLowerCase()));
    return named ?? schema.enum[0];
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const properties = isRecord(schema.properties) ? schema.properties : {};
      return Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [
          name,
          fill(answer, property, depth + 1),
        ]),
      );
    }
    case "integer":
      return Math.round(firstNumber(answer));
    case "number":
      return firstNumber(answer);
    case "boolean":
      return found(answer);
    case "array":
      return found(answer) ? [fill(answer, schema.items, depth + 1)] : [];
    case "null":
      return null;
    default:
      return answer;
  }
}

function firstNumber(text: string): number {
  const match = /-?\d[\d,]*(?:\.\d+)?/.exec(text);
  return match ? Number(match[0].replace(/,/g, "")) : 0;
}

/** Whether the answer reports a finding: not "NOT FOUND", not a count of zero. */
function found(answer: string): boolean {
  const trimmed = answer.trim();
  return trimmed !== "" && trimmed !== "0" && !/^not found$/i.test(trimmed);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
