import { type AnalysisEventEntry, isTerminalEvent } from "@rlm/queue";

/**
 * Events held for one slow client before it is dropped (it reconnects with
 * `Last-Event-ID` and misses nothing): one stalled socket must not grow the API's memory.
 */
export const MAX_BUFFERED_EVENTS = 10_000;

/** Why a subscription ended. */
export type SubscriptionEnd =
  /** Its analysis's terminal event was delivered. */
  | "finished"
  /** `close()`: the client went away. */
  | "closed"
  /** The hub closed (server shutdown). */
  | "shutdown"
  /** The client fell `MAX_BUFFERED_EVENTS` behind. */
  | "lagging";

/** Orders stream entry ids (`<ms>-<seq>`, either part up to 64 bits). */
export function compareIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map((part) => BigInt(part));
  const [bMs = 0n, bSeq = 0n] = b.split("-").map((part) => BigInt(part));
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/**
 * One client's view of one analysis's events: an async iterable of the entries after
 * its position, in order, each once. Ends after the terminal event, or as `end` says.
 */
export class Subscription implements AsyncIterable<AnalysisEventEntry> {
  /** The last entry id delivered (or the starting position). */
  cursor: string;
  /** Why it ended; undefined while open. */
  ended: SubscriptionEnd | undefined;
  private readonly buffered: AnalysisEventEntry[] = [];
  private wakeConsumer: (() => void) | undefined;

  constructor(
    after: string,
    /** Called once, when it ends (the hub stops delivering to it). */
    private readonly onEnd: (end: SubscriptionEnd) => void,
  ) {
    this.cursor = after;
  }

  /** Called by the hub with each entry of the stream, in order; skips what it has had. */
  push(entry: AnalysisEventEntry): void {
    if (this.ended || compareIds(entry.id, this.cursor) <= 0) return;
    this.cursor = entry.id;
    if (this.buffered.length >= MAX_BUFFERED_EVENTS) {
      this.end("lagging");
      return;
    }
    this.buffered.push(entry);
    this.notify();
    if (isTerminalEvent(entry.event)) this.end("finished");
  }

  /** Stops following (idempotent). Entries already buffered are still yielded. */
  end(reason: SubscriptionEnd = "closed"): void {
    if (this.ended) return;
    this.ended = reason;
    this.onEnd(reason);
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AnalysisEventEntry> {
    try {
      for (;;) {
        const entry = this.buffered.shift();
        if (entry) {
          yield entry;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wakeConsumer = resolve;
        });
      }
    } finally {
      this.end("closed");
    }
  }

  private notify(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }
}
