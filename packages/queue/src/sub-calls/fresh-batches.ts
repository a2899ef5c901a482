/**
 * LM jobs this process added a moment ago, for its own LM worker: a batch taken here
 * within `freshMs` of being added (on its first delivery) starts its calls without
 * reading their memo and the cancel flag first. Both times come from this process's
 * clock, so a producer whose clock runs ahead cannot make a stale batch look fresh.
 */
export class FreshBatches {
  private readonly addedAt = new Map<string, number>();

  constructor(private readonly freshMs = 100) {}

  /** Notes that the LM job `jobId` was just added (Redis confirmed it). */
  added(jobId: string): void {
    const now = Date.now();
    // Jobs taken by another process are never asked about: forget the old ones here.
    if (this.addedAt.size >= 256) {
      for (const [id, at] of this.addedAt) if (now - at > this.freshMs) this.addedAt.delete(id);
    }
    this.addedAt.set(jobId, now);
  }

  /** True (once) when `jobId` was added by this process no more than `freshMs` ago. */
  take(jobId: string): boolean {
    const at = this.addedAt.get(jobId);
    if (at === undefined) return false;
    this.addedAt.delete(jobId);
    return Date.now() - at <= this.freshMs;
  }
}
