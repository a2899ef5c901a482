import type { RedisClient } from "@rlm/queue";
import { ApiError, ApiErrorCode } from "./api-error.js";

/** `Retry-After` of a 503 for an unreachable Redis: ioredis retries at most every 2 s. */
export const REDIS_RETRY_AFTER_SECONDS = 2;

/** How long a PING may take before Redis counts as unreachable. */
export const PING_TIMEOUT_MS = 1_000;

/**
 * How long a request may wait on Redis before the probe is asked: most requests are
 * done long before, and cost no PING at all.
 */
const PROBE_AFTER_MS = 250;

/** Pause between two PINGs while a request still waits. */
const PROBE_INTERVAL_MS = 250;

/** The API's code for "Redis cannot be reached": a 503 with `Retry-After`, retryable. */
export const REDIS_UNAVAILABLE = ApiErrorCode.redisUnavailable;

/** Redis cannot be reached: answered as 503 with `Retry-After` (see `handleError`). */
export class RedisUnavailableError extends ApiError {
  readonly retryAfterSeconds = REDIS_RETRY_AFTER_SECONDS;

  constructor(message = "Redis cannot be reached: try again shortly") {
    super(503, REDIS_UNAVAILABLE, message);
    this.name = "RedisUnavailableError";
  }
}

/**
 * Messages and codes of ioredis and socket errors that mean "no answer from Redis", not
 * "Redis refused this command". Redis's own LOADING / BUSY / MASTERDOWN replies (a
 * restart loading its AOF, a long script, a replica without master) say the same.
 */
const UNREACHABLE_MESSAGES =
  /Connection is closed|Stream isn't writeable|max retries per request|Command timed out|Socket timeout|^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/i;
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** True for an error that says Redis could not be reached (see `UNREACHABLE_MESSAGES`). */
export function isRedisUnreachable(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error) || error instanceof ApiError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
  return error.name === "MaxRetriesPerRequestError" || UNREACHABLE_MESSAGES.test(error.message);
}

/**
 * Bounds how long a request waits on Redis. `run(work)`:
 *
 * - answers 503 at once when the request connection is not connected (with the offline
 *   queue off its commands would fail anyway, BullMQ's first use of it would wait);
 * - turns errors that mean "unreachable" into that 503;
 * - while the work is still waiting after 250 ms, PINGs Redis on the probe connection
 *   every 250 ms, and answers 503 as soon as a PING gets no answer within a second. A
 *   hung Redis (stopped process, silent network partition) keeps its sockets open, so
 *   only this notices it; a large upload keeps Redis answering PINGs, so it is not cut.
 *
 * Concurrent requests share one PING. The work itself is not cancelled: a command
 * already sent may still complete, which is why a retried POST needs its
 * `Idempotency-Key`.
 */
export class RedisGuard {
  private ping: Promise<boolean> | undefined;

  constructor(
    private readonly requests: Pick<RedisClient, "status">,
    private readonly probe: Pick<RedisClient, "ping" | "status">,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.requests.status !== "ready") {
      throw new RedisUnavailableError("Redis is not connected: try again shortly");
    }
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      const check = async () => {
        const reachable = await this.reachable();
        if (settled) return;
        if (!reachable) reject(new RedisUnavailableError());
        else timer = setTimeout(check, PROBE_INTERVAL_MS);
      };
      timer = setTimeout(check, PROBE_AFTER_MS);
    });
    try {
      return await Promise.race([work(), watchdog]);
    } catch (error) {
      throw isRedisUnreachable(error) ? asUnavailable(error) : error;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  /**
   * An `onRequest` hook for routes that reach Redis through libraries (Bull Board, the
   * viewer): a 503 at once while the request connection is down, rather than their own
   * errors. (A hung Redis is caught by `run` on the `/v1` routes only.)
   */
  readonly refuseWhileDisconnected = async (): Promise<void> => {
    if (this.requests.status !== "ready") {
      throw new RedisUnavailableError("Redis is not connected: try again shortly");
    }
  };

  /** One PING at a time, shared by every waiting request: true when answered in time. */
  reachable(): Promise<boolean> {
    this.ping ??= pingWithin(this.probe, PING_TIMEOUT_MS).finally(() => {
      this.ping = undefined;
    });
    return this.ping;
  }
}

function asUnavailable(error: unknown): RedisUnavailableError {
  return error instanceof RedisUnavailableError ? error : new RedisUnavailableError();
}

/** True when `redis` answers PING within `timeoutMs`; false on an error or no answer. */
export async function pingWithin(
  redis: Pick<RedisClient, "ping" | "status">,
  timeoutMs: number,
): Promise<boolean> {
  if (redis.status !== "ready") return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    const ping = redis.ping().then(
      (reply) => reply === "PONG",
      () => false,
    );
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
