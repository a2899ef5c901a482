// The API in a process of its own for `sse-streams.ts`: prints `ready <port>`, then
// answers each IPC message `{ measure: true }` with `{ rss, heapUsed, streams }` after a
// full garbage collection (run with --expose-gc), so its memory is measured alone.
import type { AddressInfo } from "node:net";
import type { createApiServer as CreateApiServer } from "@rlm/api";
import { REDIS } from "./support/redis-keys.js";

const prefix = process.env.SSE_BENCH_PREFIX;
const token = process.env.SSE_BENCH_TOKEN;
if (!prefix || !token) throw new Error("SSE_BENCH_PREFIX and SSE_BENCH_TOKEN are required");

// SSE_BENCH_API: another build of the API to compare with (a path to its src/index.ts).
const { createApiServer } = (await import(process.env.SSE_BENCH_API ?? "@rlm/api")) as {
  createApiServer: typeof CreateApiServer;
};
const app = createApiServer({
  connection: { ...REDIS },
  prefix,
  apiToken: token,
  logger: false,
  // No heartbeat during the measure: it would only add writes.
  heartbeatMs: 3_600_000,
});
await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`ready ${(app.server.address() as AddressInfo).port}\n`);

const collect = (globalThis as { gc?: () => void }).gc;
process.on("message", (message: { measure?: boolean; close?: boolean }) => {
  if (message.close) {
    void app.close().then(() => process.exit(0));
    return;
  }
  collect?.();
  const { rss, heapUsed } = process.memoryUsage();
  // An older API build has no stream count: the measure then trusts the opened sockets.
  const streams = typeof app.openEventStreams === "function" ? app.openEventStreams() : -1;
  process.send?.({ rss, heapUsed, streams });
});
