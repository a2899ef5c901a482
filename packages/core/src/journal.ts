import type { BudgetExceededError } from "./errors.js";
import { cloneJson } from "./clone-json.js";
import type { TokenUsage } from "./model.js";

/** A root model response, journaled before the engine uses it. */
export interface RootCallRecord {
  kind: "root";
  content: string;
  model: string;
  usage: TokenUsage;
  durationMs: number;
}

/** The outcome of one REPL cell (kept for the trajectory and to skip lost cells on rebuild). */
export interface CellRecord {
  kind: "cell";
  code: string;
  output: string;
  error?: string;
  final?: { answer: string; via: "FINAL" | "FINAL_VAR" };
  durationMs: number;
  subCalls: number;
  /** Sub-calls still pending when the cell ended (a forgotten `await`). */
  unawaitedSubCalls?: number;
  sandboxLost: boolean;
  /**
   * The budget that ran out while the cell ran and stopped it (its sandbox lost): a replay
   * takes the cell from here and stops the analysis at the same place, instead of going
   * on to turns the first run never paid for.
   */
  budgetStop?: { budget: BudgetExceededError["budget"]; message: string };
}

/** The outcome of one `recursiveLm` call. */
export interface SubCallRecord {
  kind: "sub";
  /** sha256 of (query, context, schema), checked on replay. */
  argumentsHash: string;
  query: string;
  contextChars: number;
  /** The answer, or the error the sandboxed code saw. */
  answer?: string;
  error?: { code: string; message: string };
  /** Usage of this call including any nested analysis below it. */
  usage: TokenUsage;
  byModel: Record<string, TokenUsage>;
  /** Model calls made for this sub-call (1 for a plain call, more for a nested RLM). */
  calls: number;
  durationMs: number;
  /**
   * When the call started in the process that made it (ms since the epoch), for the
   * viewer's timeline. Absent in records written before it existed.
   */
  startedAt?: number;
  /** Attempts of the model call when the client retried it (absent: one attempt). */
  attempts?: number;
  /**
   * Set when the call repeated one already answered in the analysis (same model, query,
   * sub-context and schema): the journal key of that call, whose answer this is. No model
   * call was made for it (`calls` 0, no usage).
   */
  sameAs?: string;
}

export type JournalRecord = RootCallRecord | CellRecord | SubCallRecord;

/**
 * Durable, write-once storage of an analysis's steps. The engine writes every model
 * response and sub-call result here before it uses it; replaying from a journal
 * therefore makes no model call that had completed.
 *
 * Keys are plain strings built by the engine (see `journalKeys`). Implementations: the
 * in-memory `MemoryJournal` here, a Redis journal in `@rlm/queue`.
 */
export interface Journal {
  get(key: string): Promise<JournalRecord | undefined>;
  /**
   * Stores `record` under `key` unless the key exists; returns the record that is stored
   * afterwards (the existing one wins, so two racing writers agree on one result).
   */
  putIfAbsent(key: string, record: JournalRecord): Promise<JournalRecord>;
  /** A view of this journal whose keys are prefixed, for nested analyses. */
  scope(prefix: string): Journal;
}

/** Journal keys, in one place so every runtime agrees. */
export const journalKeys = {
  root: (iteration: number) => `root:${iteration}`,
  finalPrompt: () => "root:final",
  cell: (iteration: number, block: number) => `cell:${iteration}:${block}`,
  subCall: (cellKey: string, argumentsHash: string, occurrence: number) =>
    `sub:${cellKey}:${argumentsHash.slice(0, 16)}:${occurrence}`,
  nested: (subCallKey: string) => `${subCallKey}/`,
} as const;

/** A Journal held in a Map; the default for in-process runs. */
export class MemoryJournal implements Journal {
  private readonly records: Map<string, JournalRecord>;
  private readonly prefix: string;

  constructor(records: Map<string, JournalRecord> = new Map(), prefix = "") {
    this.records = records;
    this.prefix = prefix;
  }

  async get(key: string): Promise<JournalRecord | undefined> {
    return this.records.get(this.prefix + key);
  }

  async putIfAbsent(key: string, record: JournalRecord): Promise<JournalRecord> {
    const fullKey = this.prefix + key;
    const existing = this.records.get(fullKey);
    if (existing) return existing;
    // A copy: a stored record must not change when the caller mutates its own.
    const stored = cloneJson(record);
    this.records.set(fullKey, stored);
    return stored;
  }

  scope(prefix: string): Journal {
    return new MemoryJournal(this.records, this.prefix + prefix);
  }

  /** Number of records, across all scopes. */
  get size(): number {
    return this.records.size;
  }

  /** All records with their full keys, in insertion order. */
  entries(): Array<[string, JournalRecord]> {
    return [...this.records.entries()];
  }
}
