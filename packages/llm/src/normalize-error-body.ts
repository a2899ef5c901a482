/** The `fetch` signature the openai client accepts. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Wraps `fetch` so that error bodies in other shapes reach the openai SDK in OpenAI's
 * `{ "error": { "message": … } }` shape.
 *
 * Why: the SDK reads the provider's explanation only from `body.error`. Several
 * OpenAI-compatible servers (older vLLM, FastChat, FastAPI validation errors) put
 * `message` or `detail` at the top level, and the SDK would report "400 status code (no
 * body)", hiding the one line that tells the user what is wrong.
 */
export function withNormalizedErrorBodies(fetchFunction: Fetch): Fetch {
  return async (input, init) => {
    const response = await fetchFunction(input, init);
    if (response.ok) return response;

    const text = await response.text();
    const normalized = normalizeErrorBody(text);
    const headers = new Headers(response.headers);
    // The body may have changed length; let the Response compute it.
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(normalized ?? (text === "" ? null : text), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/** The rewritten body, or `undefined` when it is fine as it is (or not JSON at all). */
function normalizeErrorBody(text: string): string | undefined {
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
