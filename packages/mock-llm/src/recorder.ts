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

/** Keeps request records in arrival order and derives statistics from them. */
export class RequestRecorder {
  #records: MockRequestRecord[] = [];
  #next = 1;

  /** Adds a record for a request that just arrived; returns the live record. */
  start(fields: Omit<MockRequestRecord, "id" | "endedAt" | "status">): MockRequestRecord {
    const record: MockRequestRecord = {
      id: `req_${this.#next++}`,
      endedAt: null,
      status: null,
      ...fields,
    };
    this.#records.push(record);
    return record;
  }

  /** Copies of all records, oldest first. */
  list(): MockRequestRecord[] {
    return this.#records.map((record) => ({ ...record }));
  }

  clear(): void {
    this.#records = [];
    this.#next = 1;
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
