import { readFile } from "node:fs/promises";
import { type JsonObject, schemaValidator } from "@rlm/core";
import { UsageError } from "./usage-error.js";

/**
 * Reads `--output-schema FILE`: a JSON Schema object the analysis's answer must match,
 * checked (compiled) here so a bad schema costs no model call.
 *
 * @throws UsageError when the file cannot be read or holds no valid JSON Schema object.
 */
export async function loadOutputSchema(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `cannot read the output schema ${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`,
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`output schema ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new UsageError(`output schema ${path} must hold a JSON Schema object`);
  }
  try {
    schemaValidator(schema as JsonObject, `output schema ${path}`);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^invalid options: /, ""));
  }
  return schema as JsonObject;
}
