import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { ModelCallError } from "./model-call-error.js";
import { parseRetryAfterMs } from "./retry-after.js";

/** What the caller knows about the failed call, used to make messages actionable. */
export interface ProviderErrorContext {
  /** The model that was requested (default `"unknown"`). */
  model?: string;
  /** The provider's base URL, named in connection and timeout messages. */
  baseURL?: string;
  /** The number of the attempt that failed (default 1). */
  attempts?: number;
  /** The per-attempt timeout, named in timeout messages. */
  timeoutMs?: number;
  /**
   * True when the request carried a `response_format`: a 400 that names it (or any 422)
   * is then `unsupported_response_format` instead of `bad_request`.
   */
  responseFormat?: boolean;
}

/**
 * Turns anything a call to an OpenAI-compatible provider threw into a {@link ModelCallError}
 * with a stable code and a `retryable` flag. A `ModelCallError` is returned unchanged.
 *
 * Retryable: 408, 409, 429 (except `insufficient_quota`), 5xx, connection failures and
 * timeouts. Every other 4xx is final: repeating the same request gives the same answer.
 * A provider's refusal of `response_format` (see {@link ProviderErrorContext.responseFormat})
 * is final too, with a code of its own so the caller can ask again without it.
 */
export function classifyProviderError(
  error: unknown,
  context: ProviderErrorContext = {},
): ModelCallError {
  if (error instanceof ModelCallError) return error;

  const model = context.model ?? "unknown";
  const attempts = context.attempts ?? 1;
  const where = context.baseURL ?? "the model provider";
  const base = { model, attempts, cause: error };

  // Order matters: the timeout and abort errors are subclasses of APIConnectionError,
  // which is a subclass of APIError.
  if (error instanceof APIUserAbortError || isNamedError(error, "AbortError")) {
    return new ModelCallError("cancelled", "the model call was cancelled", {
      ...base,
      retryable: false,
    });
  }
  if (error instanceof APIConnectionTimeoutError || isNamedError(error, "TimeoutError")) {
    return timeoutError(context, base);
  }
  if (error instanceof APIConnectionError || isFetchFailure(error)) {
    return new ModelCallError(
      "connection_failed",
      `cannot reach the model provider at ${where}: ${describeCause(error)}. ` +
        "Check the base URL and that the server is running and reachable.",
      { ...base, retryable: true },
    );
  }
  if (error instanceof APIError && typeof error.status === "number") {
    return classifyStatus(error, error.status, context, base);
  }
  if (error instanceof APIError) {
    // No status: the SDK read an error event inside a streamed 200 (an overloaded
    // provider ends a stream that way).
    return new ModelCallError(
      "provider_error",
      `the provider sent an error in its stream: ${providerMessageOf(error)}`,
      { ...base, retryable: true },
    );
  }
  if (error instanceof SyntaxError) {
    return new ModelCallError(
      "malformed_response",
      `the model provider at ${where} sent a body that is not valid JSON: ${error.message}`,
      { ...base, retryable: true },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ModelCallError("internal_error", `the model call failed: ${message}`, {
    ...base,
    retryable: false,
  });
}

function classifyStatus(
  error: APIError,
  status: number,
  context: ProviderErrorContext,
  base: { model: string; attempts: number; cause: unknown },
): ModelCallError {
  const where = context.baseURL ?? "the model provider";
  const providerMessage = providerMessageOf(error);
  const providerCode = typeof error.code === "string" ? error.code : undefined;
  const retryAfterMs = parseRetryAfterMs(error.headers);
  const details = { ...base, status, providerCode, retryAfterMs };

  if (status === 429) {
    // OpenAI answers 429 both for "slow down" and for "out of credit"; only the first
    // goes away by waiting, and pausing a whole queue for the second helps nobody.
    if (providerCode === "insufficient_quota" || error.type === "insufficient_quota") {
      return new ModelCallError(
        "quota_exceeded",
        `the provider refused for lack of quota (429): ${providerMessage}`,
        { ...details, retryable: false },
      );
    }
    return new ModelCallError(
      "rate_limited",
      `rate limited by the provider (429): ${providerMessage}`,
      {
        ...details,
        retryable: true,
      },
    );
  }
  if (status === 408) return timeoutError(context, details);
  if (status === 409 || status >= 500) {
    return new ModelCallError(
      "provider_error",
      `the provider failed (${status}): ${providerMessage}`,
      { ...details, retryable: true },
    );
  }
  if (status === 401 || status === 403) {
    return new ModelCallError(
      "authentication_failed",
      `the provider at ${where} rejected the credentials (${status}): ${providerMessage}`,
      { ...details, retryable: false },
    );
  }
  if (status === 404) {
    // A wrong base URL (e.g. missing `/v1`) also yields 404, so name both suspects.
    return new ModelCallError(
      "model_not_found",
      `model "${base.model}" was not found at ${where} (404): ${providerMessage}. ` +
        "Check the model name and the base URL.",
      { ...details, retryable: false },
    );
  }
  if (context.responseFormat && refusesResponseFormat(status, providerMessage, error)) {
    return new ModelCallError(
      "unsupported_response_format",
      `the provider at ${where} does not accept response_format json_schema (${status}): ${providerMessage}`,
      { ...details, retryable: false },
    );
  }
  return new ModelCallError(
    "bad_request",
    `the provider rejected the request (${status}): ${providerMessage}`,
    { ...details, retryable: false },
  );
}

/**
 * A 422 (servers that validate the request's shape, e.g. FastAPI-based ones, refuse a
 * field they do not know that way), or a 400 whose message or `param` names the field:
 * OpenAI says "Invalid parameter: 'response_format' of type 'json_schema' is not
 * supported with this model", vLLM and Ollama name `json_schema` or `response_format`.
 */
function refusesResponseFormat(status: number, message: string, error: APIError): boolean {
  if (status === 422) return true;
  if (status !== 400) return false;
  const param = typeof error.param === "string" ? error.param : "";
  return /response_format|json_schema/i.test(`${message} ${param}`);
}

function timeoutError(
  context: ProviderErrorContext,
  details: { model: string; attempts: number; cause: unknown; status?: number },
): ModelCallError {
  const where = context.baseURL ?? "the model provider";
  const within = context.timeoutMs === undefined ? "in time" : `within ${context.timeoutMs} ms`;
  return new ModelCallError("timeout", `no answer from ${where} ${within}`, {
    ...details,
    retryable: true,
  });
}

/** The provider's own explanation: `error.message` of the JSON body, else the SDK message. */
function providerMessageOf(error: APIError): string {
  const body: unknown = error.error;
  if (isRecord(body) && typeof body.message === "string" && body.message !== "") {
    return body.message;
  }
  // The SDK prefixes the status ("400 …"), which our messages already carry.
  return error.message.replace(/^\d{3}\s+/, "");
}

/** undici reports refused connections, DNS failures and resets as `TypeError: fetch failed`. */
function isFetchFailure(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    (error.message === "fetch failed" || error.message === "terminated")
  );
}

/**
 * The most specific reason in the `cause` chain, e.g. `connect ECONNREFUSED 127.0.0.1:9`
 * or `getaddrinfo ENOTFOUND example.invalid`.
 */
function describeCause(error: unknown): string {
  let current: unknown = error;
  let deepest = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) {
      // Node's AggregateError (one error per address tried) has an empty message.
      return current.message === "" ? code : current.message;
    }
    if (current.message !== "") deepest = current.message;
    current = current.cause;
  }
  return deepest;
}

function isNamedError(error: unknown, name: string): boolean {
  return isRecord(error) && error.name === name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
