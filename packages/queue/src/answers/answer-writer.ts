import { RlmError, type SubCallRecord } from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import { QueueErrorCode } from "../errors.js";
import { DEFAULT_TTL_SECONDS, redisKeys } from "../storage/keys.js";
import { luaScripts } from "../storage/lua-scripts.js";
import type { AnswerBus } from "./answer-bus.js";
import type { AnswerChannel } from "./answer-channel.js";

/** Options of an {@link AnswerWriter}. */
export interface AnswerWriterOptions {
  redis: RedisClient;
  prefix: string;
  /** The runs of this process waiting for answers. */
  bus: AnswerBus;
  /** Where answers are announced to other processes (none: they read the journal). */
  channel?: AnswerChannel;
  /** TTL of the journal, refreshed by each write. Default 7 days. */
  ttlSeconds?: number;
}

interface Queued {
  journalKey: string;
  json: string;
  /** Hand the stored record to a run of this process waiting for it. */
  deliverHere: boolean;
  resolve: (record: SubCallRecord) => void;
  reject: (error: Error) => void;
}

/**
 * Journals sub-call answers, then sends each on its live way back: to the run of this
 * process that waits for it, else over the analysis's channel to the others. The answers
 * a process has in hand at once (those that arrived in the same turn of its event loop)
 * are written by one script per analysis, which announces them together.
 *
 * Why: a write and a publish per answer made them most of the Redis commands of a
 * fan-out (figure 8 counts them); the answers of a wave arrive within a few ms of each
 * other, and waiting for the end of the current turn adds no round trip.
 */
export class AnswerWriter {
  readonly #queued = new Map<string, Queued[]>();
  readonly #keys: ReturnType<typeof redisKeys>;
  #scheduled = false;

  constructor(private readonly options: AnswerWriterOptions) {
    this.#keys = redisKeys(options.prefix);
  }

  /**
   * Journals `record` under `journalKey` (write-once: an earlier record wins and is
   * returned), then announces it. `deliverHere`: hand it to a run of this process that
   * waits for it (false when the caller hands it over itself).
   */
  journal(
    analysisId: string,
    journalKey: string,
    record: SubCallRecord,
    deliverHere = true,
  ): Promise<SubCallRecord> {
    return new Promise((resolve, reject) => {
      const json = JSON.stringify(record);
      const entry: Queued = { journalKey, json, deliverHere, resolve, reject };
      const queue = this.#queued.get(analysisId);
      if (queue) queue.push(entry);
      else this.#queued.set(analysisId, [entry]);
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#queued];
    this.#queued.clear();
    for (const [analysisId, entries] of batches) {
      this.#write(analysisId, entries).catch((error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const entry of entries) entry.reject(failure);
      });
    }
  }

  async #write(analysisId: string, entries: Queued[]): Promise<void> {
    const { bus, channel } = this.options;
    // Announced to the other processes unless each answer has its run here.
    const elsewhere = entries.some(
      (entry) => entry.deliverHere && !bus.wants(analysisId, entry.journalKey),
    );
    const announce = channel && elsewhere ? channel.answersChannel(analysisId) : "";
    const args: string[] = [];
    for (const entry of entries) args.push(entry.journalKey, entry.json);
    const stored = (await luaScripts.journalAnswers.run(
      this.options.redis,
      [this.#keys.journal(analysisId)],
      [
        this.options.ttlSeconds ?? DEFAULT_TTL_SECONDS,
        announce,
        channel?.sharded ? "1" : "",
        ...args,
      ],
    )) as unknown[];
    entries.forEach((entry, index) => {
      const json = stored[index];
      let record: SubCallRecord;
      try {
        record = parseAnswer(json, entry.journalKey);
      } catch (error) {
        entry.reject(error as Error);
        return;
      }
      if (entry.deliverHere) bus.deliver(analysisId, entry.journalKey, record);
      entry.resolve(record);
    });
  }
}

function parseAnswer(json: unknown, field: string): SubCallRecord {
  const record = typeof json === "string" ? (JSON.parse(json) as { kind?: string }) : undefined;
  if (record?.kind !== "sub") {
    throw new RlmError(QueueErrorCode.corruptRecord, `journal field ${field} holds no answer`, {
      retryable: false,
    });
  }
  return record as SubCallRecord;
}
