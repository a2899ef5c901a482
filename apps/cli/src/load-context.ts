import { readFile } from "node:fs/promises";
import type { RlmContext } from "@rlm/core";
import { UsageError } from "./usage-error.js";

/**
 * Reads the document for `rlm run`: a `.json` file is parsed and must hold a string, an
 * array or an object (the shapes the REPL's `context` accepts); anything else is UTF-8
 * text. A leading byte-order mark is dropped.
 *
 * @throws UsageError when the file cannot be read, is empty, or is invalid JSON.
 */
export async function loadContext(path: string): Promise<RlmContext> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read file ${path}: ${describeFsError(error)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) throw new UsageError(`file ${path} is empty`);
  if (!path.toLowerCase().endsWith(".json")) return text;

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value === "string" || Array.isArray(value)) return value as RlmContext;
  if (value !== null && typeof value === "object") return value as RlmContext;
  throw new UsageError(`file ${path} must hold a JSON string, array or object`);
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
