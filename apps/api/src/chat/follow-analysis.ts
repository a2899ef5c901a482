import { type AnalysisEvent, isTerminalEvent } from "@rlm/queue";
import type { EventHub } from "../event-hub.js";

/** How following an analysis ended. */
export type FollowEnd =
  /** Its terminal event arrived: its record has its end. */
  | "ended"
  /** `signal` aborted (the client went away). */
  | "closed"
  /** The server is shutting down. */
  | "shutdown";

/**
 * Follows an analysis's events from its first, through the server's `EventHub` (one
 * Redis connection for every follower), calling `onEvent` with each, until its terminal
 * event. A follower that fell behind is subscribed again after the last event it had.
 */
export async function followAnalysis(
  events: EventHub,
  analysisId: string,
  onEvent: (event: AnalysisEvent) => Promise<void> | void,
  signal: AbortSignal,
): Promise<FollowEnd> {
  let after = "0";
  while (!signal.aborted) {
    const subscription = events.subscribe(analysisId, after);
    const stop = () => subscription.end("closed");
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const entry of subscription) {
        await onEvent(entry.event);
        if (isTerminalEvent(entry.event)) return "ended";
      }
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (subscription.ended === "shutdown") return "shutdown";
    if (subscription.ended !== "lagging") break;
    after = subscription.cursor;
  }
  return "closed";
}
