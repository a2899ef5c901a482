import { UsageError } from "./usage-error.js";

/** How long the probe waits for any HTTP response. */
export const PROBE_TIMEOUT_MS = 5_000;

/** The part of the model client the probe uses. */
export interface ProbedClient {
  readonly baseURL: string;
  probe(timeoutMs: number): Promise<number>;
}

/**
 * Checks, before any work starts, that something answers HTTP at the model endpoint:
 * `GET {baseURL}/models`, through the client the run will use (its proxy included). Any
 * response counts, even 401 or 404 (the key and the model are the provider's business,
 * reported by the run itself); only a connection failure, a DNS failure or no response
 * within the timeout means unreachable. Without this, a typo in the URL would surface
 * only after the client's retries, as an analysis error.
 *
 * @throws UsageError `cannot reach the model endpoint at <url>: <reason>`.
 */
export async function probeEndpoint(
  client: ProbedClient,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<void> {
  try {
    await client.probe(timeoutMs);
  } catch (error) {
    throw new UsageError(
      `cannot reach the model endpoint at ${client.baseURL}: ${describeProbeError(error, timeoutMs)}`,
    );
  }
}

function describeProbeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === "TimeoutError") {
    return `no response within ${timeoutMs / 1000} s`;
  }
  // The socket's error, as undici reports it, or wrapped as its cause.
  const cause = (error as { cause?: unknown }).cause;
  const socketError = hasCode(error) ? error : cause instanceof Error ? cause : undefined;
  if (socketError) {
    const code = (socketError as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    return typeof code === "string" ? `${code} (${socketError.message})` : socketError.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function hasCode(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}
