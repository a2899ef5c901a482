import type { SubCallRecord } from "@rlm/core";

/** Receives a sub-call result journaled in this process. */
export type CallResultListener = (journalKey: string, record: SubCallRecord) => void;

/**
 * In-process notices of journaled sub-call results, from the LM jobs of a worker process
 * to the live runs of the same process. The journal stays the source of truth (a result
 * is announced only after it is written); the notice lets a live run hand each answer
 * to its cell as it arrives, as the in-process path does, so the cell has done its work
 * by the time BullMQ resumes the root job instead of starting it then.
 */
export class CallResults {
  private readonly listeners = new Map<string, Set<CallResultListener>>();
  /** Results announced while a run of their analysis was listening. */
  delivered = 0;

  /** Listens for results of `analysisId`; returns the function that stops listening. */
  subscribe(analysisId: string, listener: CallResultListener): () => void {
    let set = this.listeners.get(analysisId);
    if (!set) {
      set = new Set();
      this.listeners.set(analysisId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(analysisId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(analysisId);
    };
  }

  /** Announces a result that is in the journal. Listeners' errors are theirs. */
  publish(analysisId: string, journalKey: string, record: SubCallRecord): void {
    const set = this.listeners.get(analysisId);
    if (!set) return;
    this.delivered += 1;
    for (const listener of [...set]) {
      try {
        listener(journalKey, record);
      } catch {
        // A listener that fails only misses the early notice; the journal has the result.
      }
    }
  }
}
