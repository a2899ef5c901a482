import { RlmError } from "@rlm/core";
import type { EnqueueAnalysisInput, EnqueuedAnalysis, RlmQueueClient } from "@rlm/queue";
import { type IdempotencyFingerprints, requestFingerprint } from "./idempotency.js";
import type { RedisGuard } from "./redis-guard.js";

/** What enqueueing from a request needs. */
export interface EnqueueServices {
  client: Pick<RlmQueueClient, "enqueueAnalysis">;
  /** Bounds every wait on Redis: 503 within 2 s when it cannot be reached. */
  guard: RedisGuard;
  /** Which request each idempotency key was first used with. */
  fingerprints: IdempotencyFingerprints;
}

/**
 * Enqueues a request's analysis, with its idempotency key bound to the request first (a
 * key reused for another request is a 422; see `IdempotencyFingerprints`). Only the
 * enqueue waits on Redis; a refusal as invalid unbinds the key, so the corrected request
 * may reuse it. `POST /v1/analyses` and `POST /v1/chat/completions` alike.
 */
export async function enqueueFromRequest(
  services: EnqueueServices,
  input: EnqueueAnalysisInput,
): Promise<EnqueuedAnalysis> {
  const key = input.idempotencyKey;
  // Hashed before Redis is asked: a large document takes a moment.
  const fingerprint = key === undefined ? undefined : requestFingerprint(input);
  return services.guard.run(async () => {
    const bound =
      key !== undefined && fingerprint !== undefined
        ? await services.fingerprints.claim(key, fingerprint)
        : false;
    try {
      return await services.client.enqueueAnalysis(input);
    } catch (error) {
      if (bound && key !== undefined && isInvalidInput(error)) {
        await services.fingerprints.release(key);
      }
      throw error;
    }
  });
}

function isInvalidInput(error: unknown): boolean {
  return error instanceof RlmError && error.code.startsWith("invalid_");
}
