import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { AnalysisEvent } from "./api-types.js";
import { RlmApiError } from "./errors.js";

/** One message of an analysis's event stream. */
export interface AnalysisEventMessage {
  /** The SSE id: pass it as `after` to resume after this event. */
  id: string | undefined;
  event: AnalysisEvent;
}

/**
 * The messages of a `text/event-stream` body, parsed by eventsource-parser (comments,
 * i.e. heartbeats, are skipped), as they arrive. An `error` message (the server's stream
 * failed after its status line was sent) is thrown as an `RlmApiError`.
 */
export async function* readEventStream(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<AnalysisEventMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    for (const message of pending.splice(0)) {
      if (message.event === "error") throw streamError(message.data);
      yield { id: message.id, event: JSON.parse(message.data) as AnalysisEvent };
    }
  }
}

function streamError(data: string): RlmApiError {
  let error: { code?: unknown; message?: unknown; retryable?: unknown } = {};
  try {
    error = JSON.parse(data) as typeof error;
  } catch {
    // Not JSON: the generic error below.
  }
  return new RlmApiError(
    typeof error.code === "string" ? error.code : "stream_error",
    typeof error.message === "string" ? error.message : "the event stream failed",
    { retryable: typeof error.retryable === "boolean" ? error.retryable : true },
  );
}
