import { literal } from "../scripts/script-input.js";

/** A JSON Schema as the mock reads it (only what it needs to build a value). */
interface SchemaNode {
  type?: unknown;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** Where a script's final reply takes its answer from: a variable, or an expression. */
const TEXT_FINAL_VAR = /^FINAL_VAR\(["']?(\w+)["']?\)$/m;
const CODE_FINAL = /```repl\nFINAL\((.+)\);?\n```/;
const CODE_FINAL_VAR = /```repl\nFINAL_VAR\(["'](\w+)["']\);?\n```/;

/**
 * The script's final reply rewritten for an analysis that asked for typed JSON: code
 * that builds a value of the schema's shape from what the script would have answered and
 * passes it to FINAL. Undefined when `intended` is not a final reply.
 */
export function typedFinalReply(intended: string, schema: SchemaNode): string | undefined {
  const expression =
    TEXT_FINAL_VAR.exec(intended)?.[1] ??
    CODE_FINAL_VAR.exec(intended)?.[1] ??
    CODE_FINAL.exec(intended)?.[1];
  if (expression === undefined) return undefined;
  return `The answer is ready; the analysis asks for JSON of a given shape, so I build it.\n\n\`\`\`repl\nFINAL(${valueExpression(schema, expression)})\n\`\`\``;
}

/** The same for the text answer of the engine's last request (no REPL needed). */
export function typedFinalText(answer: string, schema: SchemaNode): string {
  return `FINAL(${JSON.stringify(valueOf(schema, answer))})`;
}

/** JavaScript that turns `expression` into a value of the schema's shape. */
function valueExpression(schema: SchemaNode, expression: string): string {
  switch (schema.type) {
    case "object": {
      const entries = Object.entries(schema.properties ?? {}).map(
        ([key, property]) => `${literal(key)}: ${valueExpression(property, expression)}`,
      );
      return `{ ${entries.join(", ")} }`;
    }
    case "array":
      return `[${valueExpression(schema.items ?? {}, expression)}]`;
    case "integer":
    case "number":
      return `Number(String(${expression}).replace(/[^0-9.-]/g, ""))`;
    case "boolean":
      return `Boolean(${expression})`;
    default:
      return `String(${expression})`;
  }
}

/** A value of the schema's shape from an answer's text. */
function valueOf(schema: SchemaNode, answer: string): unknown {
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, property]) => [
          key,
          valueOf(property, answer),
        ]),
      );
    case "array":
      return [valueOf(schema.items ?? {}, answer)];
    case "integer":
    case "number":
      return Number(answer.replace(/[^0-9.-]/g, "")) || 0;
    case "boolean":
      return answer.length > 0;
    default:
      return answer;
  }
}
