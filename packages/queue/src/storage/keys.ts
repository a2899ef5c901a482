import { InvalidInputError } from "../errors.js";

/** Default key prefix: every key of the system starts with `rlm:`, so one `SCAN rlm:*` finds it. */
export const DEFAULT_PREFIX = "rlm";

/**
 * Every Redis key and channel this package uses, in one place, laid out for a Redis
 * Cluster: the part in braces (a hash tag) decides the slot, so the keys a script or
 * a MULTI touches together share one, and unrelated ones spread over the shards. On one
 * Redis the braces change nothing: both run the same code on the same keys. (Below,
 * `<…>` stands for a value; braces are literal.)
 *
 * - `<prefix>:{<prefix>}:<queue>:…`  BullMQ's keys (`queuePrefix`): both queues in one
 *                                     slot, since a root job's LM jobs are its children
 * - `<prefix>:ctx:{<sha256>}`         string: a document (raw UTF-8 or JSON), by content
 * - `<prefix>:analysis:{<id>}`        hash: the analysis record (status, cancel flag…)
 * - `<prefix>:events:{<id>}`          stream: progress events of an analysis
 * - `<prefix>:journal:{<id>}`         hash: journal records, field = scope + key; nested
 *                                     analyses write their parent's (one per tree)
 * - `<prefix>:answers:{<id>}`         pub/sub channel: sub-call answers, to the analysis's run
 * - `<prefix>:idem:{<key>}`           string: idempotency key → analysis id
 * - `<prefix>:analyses`               sorted set: every top analysis by creation time (ms),
 *                                     for listing; written apart from the records' scripts
 * - `<prefix>:stops`                  pub/sub channel: ids of analyses cancelled or ended
 * - `<prefix>:session:{<id>}`         hash: a session (its context, its questions in order)
 * - `<prefix>:session-idem:{<key>}`   string: idempotency key → session id
 * - `<prefix>:llm:pause`              string: the provider's pause (its TTL)
 * - `<prefix>:llm:window:{<prefix>:llm}:<n>`  the call limiter's counter of window n
 *
 * An analysis's record, events and journal share the slot of its id, so each analysis
 * lives on one shard and different analyses on different ones; documents spread by hash.
 */
export function redisKeys(prefix: string = DEFAULT_PREFIX) {
  checkPrefix(prefix);
  return {
    context: (sha256: string) => `${prefix}:ctx:{${sha256}}`,
    journal: (analysisId: string) => `${prefix}:journal:{${analysisId}}`,
    analysis: (id: string) => `${prefix}:analysis:{${id}}`,
    idempotency: (key: string) => `${prefix}:idem:{${key}}`,
    events: (id: string) => `${prefix}:events:{${id}}`,
    answers: (id: string) => `${prefix}:answers:{${id}}`,
    /** The pattern every analysis's answers channel matches (PSUBSCRIBE). */
    answersPattern: () => `${globEscaped(prefix)}:answers:{*}`,
    analysesIndex: () => `${prefix}:analyses`,
    stops: () => `${prefix}:stops`,
    llmPause: () => `${prefix}:llm:pause`,
    /** The stem of the limiter's window counters: `admit-call.lua` appends `:<window>`. */
    llmWindow: () => `${prefix}:llm:window:{${prefix}:llm}`,
    session: (id: string) => `${prefix}:session:{${id}}`,
    sessionIdempotency: (key: string) => `${prefix}:session-idem:{${key}}`,
  } as const;
}

/** The key builders for one prefix. */
export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * BullMQ's `prefix` for the system's queues: `<prefix>:{<prefix>}`, a hash tag so that
 * every key of both queues is in one slot on a cluster, as BullMQ requires (its scripts
 * touch several keys of a queue, and a child job's script its parent's, across the two
 * queues). The tag names the prefix, so two systems sharing a cluster use two slots;
 * the key still starts with `<prefix>:`.
 */
export function queuePrefix(prefix: string = DEFAULT_PREFIX): string {
  checkPrefix(prefix);
  return `${prefix}:{${prefix}}`;
}

/** Seconds in a day, for retention settings given in days. */
export const DAY_SECONDS = 86_400;

/** Default lifetime of contexts, records, journals and event streams: 7 days. */
export const DEFAULT_TTL_SECONDS = 7 * DAY_SECONDS;

/**
 * A prefix with a brace would put its own hash tag before ours and every key of the
 * system in one slot; an empty one would start keys with `:`.
 */
function checkPrefix(prefix: string): void {
  if (prefix === "" || /[{}]/.test(prefix)) {
    throw new InvalidInputError(
      `invalid key prefix ${JSON.stringify(prefix)}: not empty, and no { or } (the keys' hash tags are the system's own)`,
    );
  }
}

/** `text` matched literally in a Redis glob pattern. */
function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}
