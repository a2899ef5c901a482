import type { RlmContext, SandboxDocument, SandboxFactory } from "@rlm/core";

/**
 * One loaded sandbox document per context per process, shared by every run over that
 * context (root, nested, resumed): the host-side copy of a large document is made once,
 * and each isolate gets a cheap copy of it. Unused documents are kept a little (a
 * resume may follow) and evicted beyond `maxIdle`.
 */
export class DocumentCache {
  private readonly entries = new Map<
    string,
    { document: SandboxDocument; users: number; idleSince: number }
  >();

  constructor(
    private readonly factory: SandboxFactory,
    private readonly maxIdle = 4,
  ) {}

  /** `key` identifies the content (hash, plus byte range for a slice). */
  async acquire(sha256: string, context: RlmContext): Promise<SandboxDocument> {
    const entry = this.entries.get(sha256);
    if (entry) {
      entry.users += 1;
      return entry.document;
    }
    const document = await this.factory.loadDocument(context);
    const raced = this.entries.get(sha256);
    if (raced) {
      document.release();
      raced.users += 1;
      return raced.document;
    }
    this.entries.set(sha256, { document, users: 1, idleSince: 0 });
    return document;
  }

  release(sha256: string): void {
    const entry = this.entries.get(sha256);
    if (!entry) return;
    entry.users = Math.max(0, entry.users - 1);
    if (entry.users === 0) entry.idleSince = Date.now();
    const idle = [...this.entries.entries()]
      .filter(([, value]) => value.users === 0)
      .sort((a, b) => a[1].idleSince - b[1].idleSince);
    while (idle.length > this.maxIdle) {
      const [key, value] = idle.shift() ?? [];
      if (!key || !value) break;
      this.entries.delete(key);
      value.document.release();
    }
  }

  clear(): void {
    for (const { document } of this.entries.values()) document.release();
    this.entries.clear();
  }
}
