/** The parts of an Ajv error this module reads. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * One readable sentence for the first schema error, naming the field
 * (`options.budgets.maxTokens must be integer`, `query is required`,
 * `options.foo is not a known field`), used as the 400's message.
 */
export function describeSchemaErrors(errors: readonly SchemaError[], dataVar: string): string {
  const first = errors[0];
  if (!first) return `${dataVar} is invalid`;
  const path = first.instancePath.split("/").filter(Boolean).map(unescapePointer).join(".");
  const field = (name: unknown) => (path ? `${path}.${String(name)}` : String(name));
  const subject = path || dataVar;
  switch (first.keyword) {
    case "required":
      return `${field(first.params.missingProperty)} is required`;
    case "additionalProperties":
      return `${field(first.params.additionalProperty)} is not a known field`;
    case "type": {
      const type = first.params.type;
      const types = Array.isArray(type) ? type.join(" or ") : String(type);
      return `${subject} must be ${withArticle(types)}`;
    }
    case "minLength":
    case "minItems":
    case "minProperties":
      if (first.params.limit === 1) return `${subject} must not be empty`;
      break;
  }
  return `${subject} ${first.message ?? "is invalid"}`;
}

function withArticle(types: string): string {
  return /^[aeiou]/.test(types) ? `an ${types}` : `a ${types}`;
}

/** JSON Pointer segments escape `~` and `/` (RFC 6901). */
function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}
