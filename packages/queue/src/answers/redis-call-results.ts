import type { SubCallRecord } from "@rlm/core";
import type { Redis } from "ioredis";
import type { CallResultsTransport } from "./call-results.js";

/**
 * Carries journaled sub-call results between worker processes over Redis pub/sub, one
 * channel per analysis (`{prefix}:answers:{analysisId}`): an LM job answered in one
 * process reaches the live run of its analysis in another as it arrives.
 *
 * Why: with root and LM work in different processes (`--queues root` / `--queues llm`,
 * or two workers sharing a fan-out) a run otherwise saw its answers only once BullMQ
 * resumed it after the whole fan-out, so a token or cost budget spent in its first calls
 * stopped nothing until every call was made and paid. A message can be lost (a run not
 * yet subscribed, a reconnect): the journal stays the source of truth, read on resume.
 */
export class RedisCallResults implements CallResultsTransport {
  readonly #channels = new Map<string, (journalKey: string, record: SubCallRecord) => void>();
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  publish(analysisId: string, journalKey: string, record: SubCallRecord): void {
    if (this.#closed) return;
    this.redis
      .publish(this.#channel(analysisId), JSON.stringify({ journalKey, record }))
      .catch(() => undefined);
  }

  subscribe(
    analysisId: string,
    deliver: (journalKey: string, record: SubCallRecord) => void,
  ): () => void {
    if (this.#closed) return () => undefined;
    const channel = this.#channel(analysisId);
    this.#channels.set(channel, deliver);
    this.#connection()
      .subscribe(channel)
      .catch(() => undefined);
    return () => {
      if (this.#channels.get(channel) !== deliver) return;
      this.#channels.delete(channel);
      this.#subscriber?.unsubscribe(channel).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    // Nothing to flush on a subscriber: a quit could wait on a Redis that is down.
    subscriber?.disconnect();
  }

  #channel(analysisId: string): string {
    return `${this.prefix}:answers:${analysisId}`;
  }

  /** The subscriber connection, opened on the first subscription (a subscriber can do nothing else). */
  #connection(): Redis {
    if (!this.#subscriber) {
      // Commands wait for the connection (a caller's client may disable the offline queue).
      const subscriber = this.redis.duplicate({ enableOfflineQueue: true });
      subscriber.on("error", () => undefined);
      subscriber.on("message", (channel: string, message: string) => {
        const deliver = this.#channels.get(channel);
        if (!deliver) return;
        try {
          const { journalKey, record } = JSON.parse(message) as {
            journalKey: string;
            record: SubCallRecord;
          };
          if (typeof journalKey === "string" && record?.kind === "sub") deliver(journalKey, record);
        } catch {
          // Not ours, or cut short: the journal has the answer.
        }
      });
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }
}
