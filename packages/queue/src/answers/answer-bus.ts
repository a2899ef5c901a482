import type { SubCallRecord } from "@rlm/core";
import type { AnswerChannel } from "./answer-channel.js";

/** A run of this process waiting for answers (its sub-call executor). */
export interface AnswerListener {
  /** True while the call journaled under `journalKey` is pending for this listener. */
  wants(journalKey: string): boolean;
  /** Takes a journaled answer; true when it was pending for this listener. */
  deliver(journalKey: string, record: SubCallRecord): boolean;
}

/** A listener's registration (see {@link AnswerBus.listen}). */
export interface Listening {
  /**
   * Also takes the answers journaled by other processes (over Redis); resolves once the
   * subscription is confirmed. Needed only by a run with calls outside its process.
   */
  fromEverywhere(): Promise<void>;
  /** Stops listening (idempotent). */
  stop(): void;
}

interface Entry {
  listeners: Set<AnswerListener>;
  remote?: { ready: Promise<void>; stop: () => void };
}

/**
 * The live way back from a sub-call to the run waiting for it, in one place: an answer
 * journaled in this process is handed to the run here that waits for it (`deliver`),
 * and one journaled elsewhere arrives over the analysis's Redis channel. The other way
 * back is replay: a run rebuilt from the journal (after a crash, or after its job gave
 * its slot up and resumed anywhere) reads the answers there.
 */
export class AnswerBus {
  readonly #entries = new Map<string, Entry>();
  /** Answers a run of this process took as they were journaled (from here or elsewhere). */
  delivered = 0;

  /** `channel`: answers from other processes (none: this process's answers only). */
  constructor(private readonly channel?: AnswerChannel) {}

  /** Registers `listener` for the answers of `analysisId`. */
  listen(analysisId: string, listener: AnswerListener): Listening {
    let entry = this.#entries.get(analysisId);
    if (!entry) {
      entry = { listeners: new Set() };
      this.#entries.set(analysisId, entry);
    }
    entry.listeners.add(listener);
    const current = entry;
    let stopped = false;
    return {
      fromEverywhere: () => {
        if (stopped || !this.channel) return Promise.resolve();
        current.remote ??= this.channel.subscribe(analysisId, (answers) => {
          for (const [key, record] of answers) this.deliver(analysisId, key, record);
        });
        return current.remote.ready;
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        current.listeners.delete(listener);
        if (current.listeners.size > 0 || this.#entries.get(analysisId) !== current) return;
        this.#entries.delete(analysisId);
        current.remote?.stop();
      },
    };
  }

  /** True when a run of this process waits for the call `journalKey` of `analysisId`. */
  wants(analysisId: string, journalKey: string): boolean {
    const entry = this.#entries.get(analysisId);
    if (!entry) return false;
    for (const listener of entry.listeners) if (listener.wants(journalKey)) return true;
    return false;
  }

  /** Hands a journaled answer to the run here waiting for it; true when one took it. */
  deliver(analysisId: string, journalKey: string, record: SubCallRecord): boolean {
    const entry = this.#entries.get(analysisId);
    if (!entry) return false;
    let taken = false;
    for (const listener of [...entry.listeners]) {
      try {
        if (listener.deliver(journalKey, record)) taken = true;
      } catch {
        // A listener that fails only misses the live answer; the journal has it.
      }
    }
    if (taken) this.delivered += 1;
    return taken;
  }
}
