import type { Journal, JournalRecord } from "../journal.js";

/**
 * How an analysis reads and writes its journal: what it may skip reading, and which
 * writes may go on while it moves ahead.
 */
export class JournalPolicy {
  readonly journal: Journal;
  /**
   * True once a root turn was missing from the journal: the machine is past everything
   * an earlier run of this analysis journaled (a run writes root turn k only after every
   * cell of turn k − 1 and their sub-calls ended), so the records it would look up from
   * then on cannot exist, and it stops reading them. A rebuilt sandbox's replay of
   * earlier cells still reads.
   *
   * Why: with a Redis journal each lookup is a round trip on the analysis's critical
   * path, before every root turn, every cell and every sub-call. The cost: if two runs
   * of one analysis overlap (a worker that lost its lock runs on until BullMQ stops it),
   * the later one no longer finds the earlier one's newest answers and may pay for those
   * calls again; `putIfAbsent` still makes both use the same answers.
   */
  #pastJournal: boolean;
  /** Cell records still being written (see {@link deferWrite}). */
  #writes: Promise<void> = Promise.resolve();

  /**
   * @param firstRun - no run of this analysis can have journaled anything yet (its job's
   * first start): nothing is read, not even the first turn.
   */
  constructor(journal: Journal, firstRun: boolean) {
    this.journal = journal;
    this.#pastJournal = firstRun;
  }

  /**
   * The record at `key`, unless the machine is past the journal; `rebuilding` marks the
   * replay of an earlier cell, which always reads.
   */
  lookUp(key: string, rebuilding = false): Promise<JournalRecord | undefined> {
    if (this.#pastJournal && !rebuilding) return Promise.resolve(undefined);
    return this.journal.get(key);
  }

  /** A root turn was missing: nothing later can be in the journal. */
  markPast(): void {
    this.#pastJournal = true;
  }

  /** Writes `record` unless `key` holds one; resolves with the record that is stored. */
  put(key: string, record: JournalRecord): Promise<JournalRecord> {
    return this.journal.putIfAbsent(key, record);
  }

  /** Keeps a record's write going while the analysis moves on; failures surface at {@link settle}. */
  deferWrite(write: Promise<unknown>): void {
    const previous = this.#writes;
    this.#writes = Promise.all([previous, write]).then(() => undefined);
    // Awaited later; until then a rejection must not count as unhandled.
    this.#writes.catch(() => undefined);
  }

  /** Waits for the deferred writes; throws if one failed. */
  async settle(): Promise<void> {
    const pending = this.#writes;
    this.#writes = Promise.resolve();
    await pending;
  }
}
