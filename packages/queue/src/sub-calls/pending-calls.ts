import { failedSubCall, type Journal, type SubCallRecord, type SubCallTask } from "@rlm/core";

/** Where a pending call is being answered. */
export type CallPlace =
  /** In this process (`CallLane.runHere`): its answer comes with its promise. */
  | "here"
  /** Joining an LM job that is not added yet. */
  | "buffered"
  /** In a child job (an LM job or a nested analysis): its answer comes live or by replay. */
  | "child";

interface Pending {
  task: SubCallTask;
  place: CallPlace;
  /** The child job that carries it (place `child`). */
  jobId?: string;
  resolve: (record: SubCallRecord) => void;
  reject: (error: Error) => void;
}

/**
 * The calls of one run still waiting for their answer, keyed by their journal key in the
 * run's scope, and the changes to them that the run's driver waits on.
 */
export class PendingCalls {
  readonly #pending = new Map<string, Pending>();
  #waiters = new Set<() => void>();
  /** Bumped by every change (see `changed`). */
  generation = 0;
  /** Journal reads in progress (a read may precede a new sub-call). */
  #reads = 0;
  /** Records taken from the journal (written by whoever made the call). */
  readonly #journaled = new WeakSet<SubCallRecord>();
  /**
   * Pending calls not in a child job, and nested analyses among those in one: kept as
   * counts because a waiting run asks on every change (a scan per answer made a fan-out
   * of 1,000 calls quadratic).
   */
  #notInChildren = 0;
  #nestedInChildren = 0;

  /** Counts `entry` in (1) or out (-1) of the tallies of places. */
  #tally(entry: Pending, sign: 1 | -1): void {
    if (entry.place !== "child") this.#notInChildren += sign;
    else if (entry.task.nested) this.#nestedInChildren += sign;
  }

  /** Starts waiting for `task`'s answer; the promise never rejects unheard. */
  add(task: SubCallTask): Promise<SubCallRecord> {
    const promise = new Promise<SubCallRecord>((resolve, reject) => {
      const entry: Pending = { task, place: "buffered", resolve, reject };
      const replaced = this.#pending.get(task.key);
      if (replaced) this.#tally(replaced, -1);
      this.#pending.set(task.key, entry);
      this.#tally(entry, 1);
    });
    promise.catch(() => undefined);
    this.changed();
    return promise;
  }

  /** Notes where the call `key` is answered (and the child job that carries it). */
  place(key: string, place: CallPlace, jobId?: string): void {
    const entry = this.#pending.get(key);
    if (entry) {
      this.#tally(entry, -1);
      entry.place = place;
      this.#tally(entry, 1);
      if (jobId !== undefined) entry.jobId = jobId;
    }
    this.changed();
  }

  /** The calls pending in child jobs, with their job ids. */
  children(): Array<{ key: string; jobId: string | undefined; nested: boolean }> {
    return [...this.#pending]
      .filter(([, entry]) => entry.place === "child")
      .map(([key, entry]) => ({ key, jobId: entry.jobId, nested: entry.task.nested }));
  }

  has(key: string): boolean {
    return this.#pending.has(key);
  }

  get size(): number {
    return this.#pending.size;
  }

  /** True when every pending call is in a child job (none here, none being added). */
  get onlyChildren(): boolean {
    return this.#notInChildren === 0 && this.#pending.size > 0;
  }

  /** True while a nested analysis (a child job on `rlm-root`) is pending. */
  get nestedInChildren(): boolean {
    return this.#nestedInChildren > 0;
  }

  /** The task of a pending call. */
  task(key: string): SubCallTask | undefined {
    return this.#pending.get(key)?.task;
  }

  /** Answers `key` with a journaled record; false when it was not pending. */
  resolveJournaled(key: string, record: SubCallRecord): boolean {
    this.#journaled.add(record);
    return this.resolve(key, record);
  }

  /** Answers `key` (a record the machine journals itself); false when it was not pending. */
  resolve(key: string, record: SubCallRecord): boolean {
    const entry = this.#pending.get(key);
    if (!entry) return false;
    this.#pending.delete(key);
    this.#tally(entry, -1);
    entry.resolve(record);
    this.changed();
    return true;
  }

  /** Answers `key` with an error the code sees: its child job ended without an answer. */
  fail(key: string, message: string): void {
    const task = this.#pending.get(key)?.task;
    if (!task) return;
    const record = failedSubCall(
      { argumentsHash: task.argumentsHash, query: task.query, contextChars: 0 },
      { code: "sub_call_failed", message },
    );
    this.resolve(key, record);
  }

  /** Fails `key` with `error` (the code sees it); false when it was not pending. */
  reject(key: string, error: Error): boolean {
    const entry = this.#pending.get(key);
    if (!entry) return false;
    this.#pending.delete(key);
    this.#tally(entry, -1);
    entry.reject(error);
    this.changed();
    return true;
  }

  /** Fails every pending call (cancellation): the cell sees the error and ends. */
  rejectAll(error: Error): void {
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    this.#notInChildren = 0;
    this.#nestedInChildren = 0;
    for (const entry of entries) entry.reject(error);
    this.changed();
  }

  /** True for a record taken from the journal: the machine does not write it again. */
  journaled(record: SubCallRecord): boolean {
    return this.#journaled.has(record);
  }

  /** Wraps a journal so reads count as activity (a read may precede a new sub-call). */
  observe(journal: Journal): Journal {
    return {
      get: async (key) => {
        this.#reads += 1;
        try {
          return await journal.get(key);
        } finally {
          this.#reads -= 1;
          this.changed();
        }
      },
      putIfAbsent: (key, record) => journal.putIfAbsent(key, record),
      scope: (prefix) => this.observe(journal.scope(prefix)),
    };
  }

  /**
   * Resolves true once the run waits for its calls: some are pending, no journal read is
   * in progress, and the sandbox is idle (its cell awaits them). With `blocked`, only once
   * it cannot move until a child job answers: every pending call is in a child job, and
   * nothing changed while the sandbox went idle. False when `isStopped` first.
   */
  async whenWaiting(
    sandboxIdle: () => Promise<void>,
    isStopped: () => boolean,
    blocked: boolean,
  ): Promise<boolean> {
    const holds = () =>
      this.#pending.size > 0 && this.#reads === 0 && (!blocked || this.onlyChildren);
    while (!isStopped()) {
      if (holds()) {
        const seen = this.generation;
        await sandboxIdle();
        // One more turn of the host event loop: promise callbacks of the isolate's
        // last host call settle before we decide.
        await new Promise((resolve) => setImmediate(resolve));
        if (holds() && (!blocked || seen === this.generation)) return true;
        continue;
      }
      // Re-check periodically too (the run wakes this when its step ends: `wake`).
      await this.nextChange(50);
    }
    return false;
  }

  /** Resolves at the next change, or after `ms`. */
  nextChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.#waiters.add(wake);
    });
  }

  /** Wakes whoever waits on a change (`nextChange`). */
  changed(): void {
    this.generation += 1;
    this.wake();
  }

  /**
   * Wakes whoever waits (`nextChange`, `whenWaiting`) with no change to the calls: the
   * run's step ended, and a waiter that only re-checks on its timer would see it up to
   * 50 ms late (measured: the root's next turn started 46–53 ms after its cell ended in
   * about one fan-out in five answered from other workers).
   */
  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
