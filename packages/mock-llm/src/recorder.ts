import { createHash } from "node:crypto";
import type { FaultKind } from "./faults.js";
import type { RequestKind, StrategyName } from "./options.js";

/** One chat-completion request as the mock saw and answered it. */
export interface MockRequestRecord {
  /** `req_1`, `req_2`, … in arrival order (restarts at reset). */
  id: string;
  model: string;
  kind: RequestKind;
  /** Epoch milliseconds with sub-millisecond precision, when the body was read. */
  startedAt: number;
  /** When the answer was sent or the request released; null while in flight. */
  endedAt: number | null;
  /** HTTP status sent; 0 when none was (hang released, client gone); null while in flight. */
  status: number | null;
  /** sha256 (hex) of `JSON.stringify({ model, messages })` as received. */
  messagesHash: string;
  fault?: FaultKind;
  stream: boolean;
  /** The `response_format` type the request asked for, when it asked for one. */
  responseFormat?: "json_object" | "json_schema";
  promptTokens: number;
  completionTokens: number;
  /** For root and final requests: the strategy played and its step. */
  strategy?: StrategyName;
  step?: string;
}

/** Counts per model. */
export interface ModelStats {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  byKind: Record<RequestKind, number>;
}

/** Aggregates over the recorded requests. */
export interface MockLlmStats {
  total: number;
  inFlight: number;
  byModel: Record<string, ModelStats>;
  byKind: Record<RequestKind, number>;
  /** Keyed by status code as text; requests still in flight are not counted here. */
  byStatus: Record<string, number>;
  byFault: Partial<Record<FaultKind, number>>;
}

/** What a record's `messagesHash` is taken from: the request's model and messages as received. */
export interface HashedRequest {
  model: string;
  messages: unknown[];
  /** Characters of the messages' text, which the recorder keeps until it hashes them. */
  chars: number;
}

/**
 * Prompt characters held for hashing before the recorder hashes them all at once; past
 * it, memory stays bounded for a mock that serves for long without its records read.
 */
export const UNHASHED_CHARS_LIMIT = 32 * 1024 * 1024;

/**
 * Keeps request records in arrival order and derives statistics from them.
 *
 * `messagesHash` is taken when the records are read, not when a request arrives. Why:
 * serializing and hashing a sub-call's 10 KB prompt costs ~60 µs of the mock's CPU,
 * and during a fan-out the mock shares the machine's cores with the system it serves
 * (measured: figure 1 in process 2-8 ms faster, `bench/diagnostics/wave-timing.ts`
 * alternately with and without the hash). Nothing reads the hash before the records.
 */
export class RequestRecorder {
  #records: MockRequestRecord[] = [];
  #next = 1;
  #unhashed: Array<{ record: MockRequestRecord; request: HashedRequest }> = [];
  #unhashedChars = 0;
  readonly #unhashedCharsLimit: number;

  constructor(options: { unhashedCharsLimit?: number } = {}) {
    this.#unhashedCharsLimit = options.unhashedCharsLimit ?? UNHASHED_CHARS_LIMIT;
  }

  /**
   * Adds a record for a request that just arrived; returns the live record. Its
   * `messagesHash` is filled in by the next read (`list`), or at once past the limit.
   */
  start(
    fields: Omit<MockRequestRecord, "id" | "endedAt" | "status" | "messagesHash">,
    request: HashedRequest,
  ): MockRequestRecord {
    const record: MockRequestRecord = {
      id: `req_${this.#next++}`,
      endedAt: null,
      status: null,
      messagesHash: "",
      ...fields,
    };
    this.#records.push(record);
    this.#unhashed.push({ record, request });
    this.#unhashedChars += request.chars;
    if (this.#unhashedChars > this.#unhashedCharsLimit) this.#hashPending();
    return record;
  }

  /** Records whose hash is still to be taken (for tests and diagnostics). */
  get unhashedCount(): number {
    return this.#unhashed.length;
  }

  /** Copies of all records, oldest first. */
  list(): MockRequestRecord[] {
    this.#hashPending();
    return this.#records.map((record) => ({ ...record }));
  }

  clear(): void {
    this.#records = [];
    this.#next = 1;
    this.#unhashed = [];
    this.#unhashedChars = 0;
  }

  #hashPending(): void {
    for (const { record, request } of this.#unhashed) {
      record.messagesHash = messagesHash(request.model, request.messages);
    }
    this.#unhashed = [];
    this.#unhashedChars = 0;
  }

  stats(): MockLlmStats {
    const stats: MockLlmStats = {
      total: 0,
      inFlight: 0,
      byModel: {},
      byKind: { root: 0, sub: 0, final: 0 },
      byStatus: {},
      byFault: {},
    };
    for (const record of this.#records) {
      stats.total += 1;
      stats.byKind[record.kind] += 1;
      const model = stats.byModel[record.model] ?? {
        calls: 0,
        promptTokens: 0,
        completionTokens: 0,
        byKind: { root: 0, sub: 0, final: 0 },
      };
      stats.byModel[record.model] = model;
      model.calls += 1;
      model.promptTokens += record.promptTokens;
      model.completionTokens += record.completionTokens;
      model.byKind[record.kind] += 1;
      if (record.status === null) stats.inFlight += 1;
      else stats.byStatus[String(record.status)] = (stats.byStatus[String(record.status)] ?? 0) + 1;
      if (record.fault) stats.byFault[record.fault] = (stats.byFault[record.fault] ?? 0) + 1;
    }
    return stats;
  }
}

/** sha256 (hex) of `JSON.stringify({ model, messages })`: equal requests, equal hashes. */
export function messagesHash(model: string, messages: unknown[]): string {
  return createHash("sha256").update(JSON.stringify({ model, messages })).digest("hex");
}
