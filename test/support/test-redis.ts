import type { RlmConnection } from "@rlm/queue";
import { deleteKeys } from "./redis-prefix.js";

/** The Redis a testbed runs on: the local one (default) or a test cluster. */
export interface TestRedis {
  /** The connection of the producer and of workers in the test's process. */
  connection(): RlmConnection;
  /** What a worker process (worker-main.ts) needs in its environment to reach it. */
  workerEnv(): Record<string, string>;
  /** Deletes every key under `prefix`. */
  deleteKeys(prefix: string): Promise<void>;
}

/** The local Redis every test file shares (each under a prefix of its own). */
export const localRedis: TestRedis = {
  connection: () => ({ host: "127.0.0.1", port: 6379 }),
  workerEnv: () => ({}),
  deleteKeys,
};
