import type { RlmContext, SandboxDocument, SandboxFactory } from "@rlm/core";
import { type DocumentSource, parseJsonContext } from "../storage/context-store.js";
import { IsolatedVmDocument } from "@rlm/sandbox";
import { type CollectGarbage, LARGE_DOCUMENT_BYTES } from "./large-document.js";

/** A loaded document: what sandboxes copy from, and the host's view of the same content. */
export interface LoadedDocument {
  document: SandboxDocument;
  /**
   * The context for the host side (description, slicing). For a string loaded by the
   * isolated-vm factory, a string sharing the sandbox copy's memory: the process holds
   * the text once, not once for the host and once for the isolates.
   */
  context: RlmContext;
}

interface Entry extends LoadedDocument {
  users: number;
  idleSince: number;
}

/**
 * One loaded sandbox document per context per process, shared by every run over that
 * context (root, nested, resumed): the document is read and copied once, each isolate
 * gets a cheap copy of it, and a run that finds it loaded reads nothing from Redis. An unused document is kept for a short while
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
    /**
     * Called while a document of at least {@link LARGE_DOCUMENT_BYTES} is loaded (after
     * the read, after the decoding), so the garbage each step left (socket chunks, the
     * decoded host string) goes back before the next one adds a copy, rather than when
     * V8 next needs room; see `RlmWorkerOptions.collectGarbage`.
     */
    private readonly collectGarbage?: CollectGarbage,
    /**
     * Called with the size of a document of at least {@link LARGE_DOCUMENT_BYTES} once
     * it is read and before the synchronous work of loading it (see `HeldLocks`).
     */
    private readonly beforeBlocking?: (bytes: number) => Promise<void>,
  ) {
    this.sweeper = setInterval(() => this.evict(), Math.min(limits.idleMs, 10_000));
    this.sweeper.unref?.();
  }

  /**
   * The document `key` (which identifies the content: hash, plus byte range for a
   * slice), loaded with `load` unless a run holds it already.
   */
  async acquire(key: string, load: () => Promise<DocumentSource>): Promise<LoadedDocument> {
    const entry = this.entries.get(key);
    if (entry) {
      entry.users += 1;
      return entry;
    }
    const loaded = await this.load(load);
    const raced = this.entries.get(key);
    if (raced) {
      loaded.document.release();
      raced.users += 1;
      return raced;
    }
    const created: Entry = { ...loaded, users: 1, idleSince: 0 };
    this.entries.set(key, created);
    return created;
  }

  private async load(load: () => Promise<DocumentSource>): Promise<LoadedDocument> {
    let source = await load();
    const bytes = sizeOf(source);
    // What follows blocks the thread (parse, decode, copy, collections) for about a second
    // per 50–100 MB: the process's job locks are extended past it first.
    if (bytes >= LARGE_DOCUMENT_BYTES) await this.beforeBlocking?.(bytes);
    if ("json" in source) source = { context: parseJsonContext(source.json.toString("utf8")) };
    let context: RlmContext | undefined;
    let document: SandboxDocument;
    const large = "utf8" in source && source.utf8.length >= LARGE_DOCUMENT_BYTES;
    // The read's socket chunks go before the text is decoded next to the bytes.
    if (large) this.collectGarbage?.("major");
    if ("utf8" in source && this.factory.loadDocumentFromUtf8) {
      // The factory takes the bytes over and frees them once decoded.
      document = await this.factory.loadDocumentFromUtf8(source.utf8);
    } else {
      context = "utf8" in source ? source.utf8.toString("utf8") : source.context;
      document = await this.factory.loadDocument(context);
    }
    // A loaded string becomes garbage here; the shared one is all that stays.
    const shared = document instanceof IsolatedVmDocument ? document.sharedText() : undefined;
    const hostContext = shared ?? context;
    if (hostContext === undefined) {
      document.release();
      throw new Error("the sandbox factory loaded a text document it cannot share with the host");
    }
    // And the decoded text the sandbox copy was made from.
    if (large) this.collectGarbage?.("major");
    return { document, context: hostContext };
  }

  /** True when the document `key` is loaded in this process (in use or idle). */
  has(key: string): boolean {
    return this.entries.has(key);
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

/** A source's size in bytes (a text held in this process: its characters, close enough). */
function sizeOf(source: DocumentSource): number {
  if ("utf8" in source) return source.utf8.length;
  if ("json" in source) return source.json.length;
  return typeof source.context === "string" ? source.context.length : 0;
}
