import type { RlmContext, SandboxDocument, SandboxFactory } from "@rlm/core";

interface Entry {
  document: SandboxDocument;
  users: number;
  idleSince: number;
}

/**
 * One loaded sandbox document per context per process, shared by every run over that
 * context (root, nested, resumed): the host-side copy of a large document is made once,
 * and each isolate gets a cheap copy of it. An unused document is kept for a short while
 * (a resume of the same analysis usually follows within seconds) and released after
 * `idleMs`, or sooner when more than `maxIdle` are unused: a worker must not hold
 * finished 100 MB documents.
 */
export class DocumentCache {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly factory: SandboxFactory,
    private readonly limits: { maxIdle: number; idleMs: number } = { maxIdle: 2, idleMs: 60_000 },
  ) {
    this.sweeper = setInterval(() => this.evict(), Math.min(limits.idleMs, 10_000));
    this.sweeper.unref?.();
  }

  /** `key` identifies the content (hash, plus byte range for a slice). */
  async acquire(key: string, context: RlmContext): Promise<SandboxDocument> {
    const entry = this.entries.get(key);
    if (entry) {
      entry.users += 1;
      return entry.document;
    }
    const document = await this.factory.loadDocument(context);
    const raced = this.entries.get(key);
    if (raced) {
      document.release();
      raced.users += 1;
      return raced.document;
    }
    this.entries.set(key, { document, users: 1, idleSince: 0 });
    return document;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.users = Math.max(0, entry.users - 1);
    if (entry.users === 0) entry.idleSince = Date.now();
    this.evict();
  }

  /** Documents currently loaded (in use or idle). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    clearInterval(this.sweeper);
    for (const { document } of this.entries.values()) document.release();
    this.entries.clear();
  }

  private evict(): void {
    const now = Date.now();
    const idle = [...this.entries.entries()]
      .filter(([, entry]) => entry.users === 0)
      .sort((a, b) => a[1].idleSince - b[1].idleSince);
    for (const [index, [key, entry]] of idle.entries()) {
      const tooMany = idle.length - index > this.limits.maxIdle;
      if (tooMany || now - entry.idleSince > this.limits.idleMs) {
        this.entries.delete(key);
        entry.document.release();
      }
    }
  }
}
