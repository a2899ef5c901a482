import type { IncomingMessage } from "node:http";

/** Largest request body accepted: sub-calls carry chunks of the document. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The whole body of `req`, or `undefined` when it is over `maxBytes` (by its
 * Content-Length, or as it arrives when it is chunked); the rest of an oversized body is
 * then left unread, and node discards it when the answer ends.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.off("end", onEnd);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}
