import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { AnalysisEventEntry, RlmQueueClient } from "@rlm/queue";
import type { FastifyBaseLogger } from "fastify";

/** Default interval of SSE heartbeat comments (proxies drop idle connections). */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Options of `streamEvents`. */
export interface StreamEventsOptions {
  client: Pick<RlmQueueClient, "events">;
  analysisId: string;
  /** Resume after this stream entry id (the `Last-Event-ID` of a reconnecting client). */
  after?: string;
  heartbeatMs: number;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
  log: FastifyBaseLogger;
}

/**
 * Writes an analysis's events to `res` as server-sent events, from the first kept
 * event (or after `after`), and ends the response after the terminal event:
 *
 * ```
 * id: 1700000000000-0
 * event: progress
 * data: {"type":"progress","progress":{…}}
 * ```
 *
 * A comment line is sent every `heartbeatMs`. When the client goes away (or `signal`
 * aborts), the Redis subscription is stopped at once instead of reading on.
 */
export async function streamEvents(res: ServerResponse, options: StreamEventsOptions) {
  const { analysisId, heartbeatMs, log } = options;
  const stop = new AbortController();
  const onClose = () => stop.abort();
  res.on("close", onClose);
  options.signal.addEventListener("abort", onClose, { once: true });
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(": heartbeat\n\n");
  }, heartbeatMs);
  try {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers responses by default, which would hold events back.
      "x-accel-buffering": "no",
    });
    // Sends the headers now and tells EventSource how soon to reconnect.
    res.write("retry: 3000\n\n");
    const events = options.client.events(analysisId, {
      signal: stop.signal,
      ...(options.after !== undefined ? { after: options.after } : {}),
    });
    for await (const entry of events) {
      if (!(await write(res, formatEvent(entry)))) break;
    }
  } catch (error) {
    if (!stop.signal.aborted) {
      log.error({ err: error, analysisId }, "event stream failed");
      // The status line is long gone: tell the client in-band, then end.
      await write(
        res,
        `event: error\ndata: ${JSON.stringify({ code: "internal_error", message: "event stream failed", retryable: true })}\n\n`,
      );
    }
  } finally {
    clearInterval(heartbeat);
    res.off("close", onClose);
    options.signal.removeEventListener("abort", onClose);
    stop.abort();
    if (options.signal.aborted) {
      // Shutting down: an idle keep-alive socket left behind would hold up the HTTP
      // server's close until its keep-alive timeout.
      const { socket } = res;
      res.end(() => socket?.destroy());
    } else if (!res.writableEnded) {
      res.end();
    }
  }
}

/** One SSE message. Event JSON never contains a raw newline, so one `data:` line suffices. */
export function formatEvent(entry: AnalysisEventEntry): string {
  return `id: ${entry.id}\nevent: ${entry.event.type}\ndata: ${JSON.stringify(entry.event)}\n\n`;
}

/** Writes with backpressure; false when the client is gone. */
async function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.writableEnded || res.destroyed) return false;
  if (res.write(chunk)) return true;
  // Wait for the socket to drain, or for it to close.
  const drained = await Promise.race([
    once(res, "drain").then(() => true),
    once(res, "close").then(() => false),
  ]);
  return drained && !res.destroyed;
}
