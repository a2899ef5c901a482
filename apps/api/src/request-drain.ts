import type { IncomingMessage } from "node:http";
import type { FastifyInstance } from "fastify";

/**
 * How long the rest of a refused body is read before the connection is cut: as nginx's
 * `lingering_time` (30 s), long enough for a client on a slow link to finish sending,
 * short enough that nobody can keep the server reading for ever.
 */
export const LINGER_MS = 30_000;

/**
 * Reads and discards the rest of a request body after the answer was decided without
 * it (a 413 on an upload, a 400 on its first part). Many clients (Python's http.client,
 * SDKs built on it, some proxies) send the whole body before they read a byte of the
 * answer; a server that closes as soon as it has answered makes the kernel reset the
 * connection on their next write, and the reset destroys the answer they never read.
 * Reading on keeps the connection open until they are done: then they read the 413.
 *
 * Bounded by `LINGER_MS`, after which the socket is destroyed. The connection stays
 * usable (keep-alive) when the body ends in time.
 */
export function drainRestOfBody(request: IncomingMessage): void {
  // `complete` is only false on a real socket still receiving (injected requests leave it unset).
  if (request.complete !== false || request.destroyed) return;
  // A multipart parser may still be attached: the bytes go nowhere now.
  request.unpipe();
  request.resume();
  const { socket } = request;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  const done = () => clearTimeout(timer);
  request.once("end", done);
  socket.once("close", done);
}

/**
 * Drains what is left of any request body once its answer is on its way (see
 * `drainRestOfBody`): a 413, a 401 or 415 decided from the headers, a 400 on a bad part.
 * Fastify asks to close the connection after a body parser's error; closing at once is
 * exactly what loses the answer, so the request is read to its end instead.
 */
export function lingerOnEarlyAnswers(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (request.raw.complete === false) {
      reply.removeHeader("connection");
      drainRestOfBody(request.raw);
    }
    return payload;
  });
}
