import type { Logger } from "pino";
import { type CliEnv, loadEnv } from "./env.js";
import { createLogger } from "./logger.js";

/** What every command starts from: the validated environment and the logger. */
export interface CommandSetup {
  env: CliEnv;
  logger: Logger;
}

/** @throws UsageError when the environment is invalid. */
export function setup(): CommandSetup {
  const env = loadEnv();
  return { env, logger: createLogger(env.LOG_LEVEL) };
}
