import type { IncomingMessage, ServerResponse } from "node:http";

/** Largest request body accepted: sub-calls carry chunks of the document. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** Reads a request body as UTF-8; rejects past `MAX_BODY_BYTES`. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      parts.push(part);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

/** Sends a JSON body with its length (keep-alive friendly). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendRaw(res, status, JSON.stringify(body), headers);
}

/** Sends a body as-is, labelled JSON (also used for the deliberately malformed one). */
export function sendRaw(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Milliseconds since the epoch with sub-millisecond precision. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Waits `ms` as measured by `now()` (timers may fire a little early against the
 * high-resolution clock, and tests assert `endedAt - startedAt ≥ latencyMs`). Resolves
 * true when the time has passed, false when `signal` aborted first.
 */
export function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  const until = now() + ms;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const tick = () => {
      const left = until - now();
      if (left <= 0) {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
        return;
      }
      timer = setTimeout(tick, Math.ceil(left));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    tick();
  });
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}
