import type { SubCallRecord } from "@rlm/core";

/**
 * Receives a sub-call result journaled in this process; returns true when it took it (a
 * call of its run was waiting for it).
 */
export type CallResultListener = (journalKey: string, record: SubCallRecord) => boolean | void;

/** Carries results to the runs of other processes (see `RedisCallResults`). */
export interface CallResultsTransport {
  publish(analysisId: string, journalKey: string, record: SubCallRecord): void;
  /** Receives what other processes publish for `analysisId`; returns the unsubscribe. */
  subscribe(
    analysisId: string,
    deliver: (journalKey: string, record: SubCallRecord) => void,
  ): () => void;
}

/**
 * In-process notices of journaled sub-call results, from the LM jobs of a worker process
 * to the live runs of the same process. The journal stays the source of truth (a result
 * is announced only after it is written); the notice lets a live run hand each answer
 * to its cell as it arrives, as the in-process path does, so the cell has done its work
 * by the time BullMQ resumes the root job instead of starting it then.
 */
export class CallResults {
  private readonly listeners = new Map<string, Set<CallResultListener>>();
  /** The remote subscription of each analysis listened for here. */
  private readonly remote = new Map<string, () => void>();

  /** `transport`: carries results to and from other processes (none: this process only). */
  constructor(private readonly transport?: CallResultsTransport) {}

  /** Results announced while a run of their analysis was listening. */
  delivered = 0;

  /** Listens for results of `analysisId`; returns the function that stops listening. */
  subscribe(analysisId: string, listener: CallResultListener): () => void {
    let set = this.listeners.get(analysisId);
    if (!set) {
      set = new Set();
      this.listeners.set(analysisId, set);
      // Results of this analysis answered in other processes arrive here too.
      const remote = this.transport?.subscribe(analysisId, (journalKey, record) =>
        this.deliverHere(analysisId, journalKey, record),
      );
      if (remote) this.remote.set(analysisId, remote);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(analysisId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(analysisId);
        this.remote.get(analysisId)?.();
        this.remote.delete(analysisId);
      }
    };
  }

  /**
   * Announces a result that is in the journal: to the runs of this process listening for
   * its analysis, else to other processes (none may be listening: the journal has it).
   */
  publish(analysisId: string, journalKey: string, record: SubCallRecord): void {
    // Not taken here (no run of this process waits for it: a nested run of the same
    // analysis, a stale cached one): the run that waits may be in another process.
    if (this.deliverHere(analysisId, journalKey, record)) return;
    this.transport?.publish(analysisId, journalKey, record);
  }

  /** Hands a result to this process's listeners; true when one of them took it. */
  private deliverHere(analysisId: string, journalKey: string, record: SubCallRecord): boolean {
    const set = this.listeners.get(analysisId);
    if (!set) return false;
    let taken = false;
    for (const listener of [...set]) {
      try {
        if (listener(journalKey, record) === true) taken = true;
      } catch {
        // A listener that fails only misses the early notice; the journal has the result.
      }
    }
    if (taken) this.delivered += 1;
    return taken;
  }
}
