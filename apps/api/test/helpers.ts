import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import {
  deleteKeysUnder as deleteKeysWith,
  newRedis,
} from "../../../packages/queue/test/redis-helpers.js";
import { type ApiServerOptions, createApiServer } from "../src/index.js";

// One set of Redis test helpers for the repository: the queue package's.
export { within } from "../../../packages/queue/test/redis-helpers.js";

/** The Redis every test uses (real, local). */
export const REDIS_OPTIONS = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };

/** The API token of test servers. */
export const TOKEN = "test-token-0123456789abcdef";

/** Authorization header with the right token. */
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A key prefix no other test file (or run) shares. */
export function uniquePrefix(name: string): string {
  return `rlmtest-api-${name}-${randomBytes(4).toString("hex")}`;
}

/** A server on the test Redis under `prefix`, with logs off. */
export function testServer(
  prefix: string,
  overrides: Partial<ApiServerOptions> = {},
): FastifyInstance {
  return createApiServer({
    connection: REDIS_OPTIONS,
    prefix,
    apiToken: TOKEN,
    logger: false,
    ...overrides,
  });
}

/** Listens on 127.0.0.1, port 0; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** Deletes every key under the prefix (ours and BullMQ's, which share it). */
export async function deleteKeysUnder(prefix: string): Promise<void> {
  const redis = newRedis();
  try {
    await deleteKeysWith(redis, prefix);
  } finally {
    await redis.quit();
  }
}
