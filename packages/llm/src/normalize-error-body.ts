/**
 * An error body rewritten into OpenAI's `{ "error": { "message": … } }` shape, or
 * `undefined` when it has that shape already (or is not JSON at all).
 *
 * Why: errors are read the way the openai package reads them, from `body.error`. Several
 * OpenAI-compatible servers (older vLLM, FastChat, FastAPI validation errors) put
 * `message` or `detail` at the top level, and the error would say "400 status code (no
 * body)", hiding the one line that tells the user what is wrong.
 */
export function normalizeErrorBody(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if ("error" in record && typeof record.error === "object" && record.error !== null) {
    return undefined;
  }
  const message =
    typeof record.message === "string"
      ? record.message
      : typeof record.error === "string"
        ? record.error
        : typeof record.detail === "string"
          ? record.detail
          : JSON.stringify(record.detail ?? record);
  const { error: _ignored, ...rest } = record;
  return JSON.stringify({ error: { ...rest, message } });
}
