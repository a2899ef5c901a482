/** Default key prefix, shared with BullMQ's `prefix` so one `SCAN rlm:*` finds everything. */
export const DEFAULT_PREFIX = "rlm";

/**
 * Every Redis key this package writes outside BullMQ, in one place.
 *
 * - `{prefix}:ctx:{sha256}`         string: a context document (raw UTF-8 or JSON)
 * - `{prefix}:journal:{analysisId}` hash: journal records, field = scope + key
 * - `{prefix}:analysis:{id}`        hash: the analysis record
 * - `{prefix}:idem:{key}`           string: idempotency key → analysis id
 * - `{prefix}:analyses`             sorted set: every top analysis by creation time (ms),
 *                                   for listing; members trimmed past retention
 * - `{prefix}:events:{id}`          stream: progress events of an analysis
 * - `{prefix}:answers:{id}`         pub/sub channel: sub-call answers, to the analysis's run
 * - `{prefix}:stops`                pub/sub channel: ids of analyses cancelled or ended
 * - `{prefix}:session:{id}`         hash: a session (its context, its questions in order)
 * - `{prefix}:session-idem:{key}`   string: idempotency key → session id
 * - `{prefix}:llm:pause`, `{prefix}:llm:window:*`  the provider's pause, the call limiter
 */
export function redisKeys(prefix: string = DEFAULT_PREFIX) {
  return {
    context: (sha256: string) => `${prefix}:ctx:${sha256}`,
    journal: (analysisId: string) => `${prefix}:journal:${analysisId}`,
    analysis: (id: string) => `${prefix}:analysis:${id}`,
    idempotency: (key: string) => `${prefix}:idem:${key}`,
    analysesIndex: () => `${prefix}:analyses`,
    events: (id: string) => `${prefix}:events:${id}`,
    answers: (id: string) => `${prefix}:answers:${id}`,
    stops: () => `${prefix}:stops`,
    session: (id: string) => `${prefix}:session:${id}`,
    sessionIdempotency: (key: string) => `${prefix}:session-idem:${key}`,
  } as const;
}

/** The key builders for one prefix. */
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Seconds in a day, for retention settings given in days. */
export const DAY_SECONDS = 86_400;

/** Default lifetime of contexts, records, journals and event streams: 7 days. */
export const DEFAULT_TTL_SECONDS = 7 * DAY_SECONDS;
