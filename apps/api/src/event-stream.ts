import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { AnalysisEventEntry } from "@rlm/queue";
import type { FastifyBaseLogger } from "fastify";
import type { Subscription } from "./event-subscription.js";

/** Default interval of SSE heartbeat comments (proxies drop idle connections). */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Options of `streamEvents`. */
export interface StreamEventsOptions {
  /** The analysis's events (from the server's `EventHub`), ended when the client goes. */
  subscription: Subscription;
  analysisId: string;
  heartbeatMs: number;
  log: FastifyBaseLogger;
}

/**
 * Writes an analysis's events to `res` as server-sent events and ends the response
 * after the terminal event:
 *
 * ```
 * id: 1700000000000-0
 * event: progress
 * data: {"type":"progress","progress":{…}}
 * ```
 *
 * A comment line is sent every `heartbeatMs`. When the client goes away the subscription
 * ends at once. When the server shuts down (the hub ends every subscription) the socket
 * is closed too: an idle keep-alive socket would hold up the HTTP server's close. A
 * client too slow to keep up gets an `error` event and the end of the stream: it
 * reconnects with `Last-Event-ID` and misses nothing.
 */
export async function streamEvents(res: ServerResponse, options: StreamEventsOptions) {
  const { subscription, analysisId, heartbeatMs, log } = options;
  const onClose = () => subscription.end("closed");
  res.on("close", onClose);
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
    for await (const entry of subscription) {
      if (!(await write(res, formatEvent(entry)))) break;
    }
    if (subscription.ended === "lagging") {
      log.warn({ analysisId }, "event stream client too slow; ended");
      await write(
        res,
        errorEvent("lagging", "the client fell behind: reconnect with Last-Event-ID"),
      );
    }
  } catch (error) {
    log.error({ err: error, analysisId }, "event stream failed");
    // The status line is long gone: tell the client in-band, then end.
    await write(res, errorEvent("internal_error", "event stream failed"));
  } finally {
    clearInterval(heartbeat);
    res.off("close", onClose);
    subscription.end("closed");
    if (subscription.ended === "shutdown") {
      const { socket } = res;
      res.end(() => socket?.destroy());
    } else if (!res.writableEnded) {
      res.end();
    }
  }
}

function errorEvent(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ code, message, retryable: true })}\n\n`;
}

/** One SSE message. Event JSON never contains a raw newline, so one `data:` line suffices. */
export function formatEvent(entry: AnalysisEventEntry): string {
  return `id: ${entry.id}\nevent: ${entry.event.type}\ndata: ${JSON.stringify(entry.event)}\n\n`;
}

/** Writes with backpressure; false when the client is gone. */
export async function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.writableEnded || res.destroyed) return false;
  if (res.write(chunk)) return true;
  // Wait for the socket to drain, or for it to close.
  const drained = await Promise.race([
    once(res, "drain").then(() => true),
    once(res, "close").then(() => false),
  ]);
  return drained && !res.destroyed;
}
