import { UsageError } from "./usage-error.js";

/** How long the probe waits for any HTTP response. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * Checks, before any work starts, that something answers HTTP at the model endpoint:
 * `GET {baseURL}/models`. Any response counts, even 401 or 404 (the key and the model are
 * the provider's business, reported by the run itself); only a connection failure, a DNS
 * failure or no response within the timeout means unreachable. Without this, a typo in
 * the URL would surface only after the client's retries, as an analysis error.
 *
 * @throws UsageError `cannot reach the model endpoint at <url>: <reason>`.
 */
export async function probeEndpoint(
  baseURL: string,
  apiKey: string,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<void> {
  const url = `${baseURL.replace(/\/+$/, "")}/models`;
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Only the status line matters; release the connection.
    await response.body?.cancel();
  } catch (error) {
    throw new UsageError(
      `cannot reach the model endpoint at ${baseURL}: ${describeFetchError(error, timeoutMs)}`,
    );
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no response within ${timeoutMs / 1000} s`;
  }
  // undici wraps the socket error: TypeError("fetch failed", { cause: { code, message } }).
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
