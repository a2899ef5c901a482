import type { Job } from "bullmq";

/** Time allowed per MB of a document for the synchronous work of loading it. */
const BLOCKING_MS_PER_MB = 60;

/**
 * The BullMQ job locks this process holds (root runs, LM jobs), so that
 * all of them can be extended at once before the event loop is blocked for long.
 *
 * Why: BullMQ renews a lock from a timer every `lockDuration / 2`, and the product's
 * locks are short (3 s, so a killed worker's analysis resumes within ~4 s). Loading a
 * large document blocks the thread: parsing a 171 MB JSON array took 2.2 s here and
 * copying it for the sandbox 1.2 s more. No timer runs meanwhile, every lock of the
 * process lapses, other workers take the jobs as stalled, and both copies pay for the
 * same model calls. Extending every held lock by the expected blocking time first keeps
 * them; the timer brings them back to `lockDuration` once it runs again.
 */
export class HeldLocks {
  readonly #held = new Map<object, { job: Job; token: string }>();

  constructor(private readonly lockDurationMs: number) {}

  /** Holds `job`'s lock (taken with `token`) until the returned function is called. */
  hold(job: Job, token: string | undefined): () => void {
    if (token === undefined) return () => undefined;
    const handle = {};
    this.#held.set(handle, { job, token });
    return () => {
      this.#held.delete(handle);
    };
  }

  /** Locks held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Extends every held lock to cover `bytes` of synchronous document work: one round
   * trip for all of them. A lock that cannot be extended (lost already) is left to BullMQ.
   */
  async beforeBlocking(bytes: number): Promise<void> {
    const durationMs =
      this.lockDurationMs + Math.ceil((bytes / (1024 * 1024)) * BLOCKING_MS_PER_MB);
    await Promise.all(
      [...this.#held.values()].map(({ job, token }) =>
        job.extendLock(token, durationMs).catch(() => undefined),
      ),
    );
  }
}
