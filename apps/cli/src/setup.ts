import type { Logger } from "pino";
import { type CliEnv, type LogLevel, loadEnv } from "./env.js";
import { createLogger } from "./logger.js";

/** What every command starts from: the validated environment and the logger. */
export interface CommandSetup {
  env: CliEnv;
  logger: Logger;
}

/**
 * @param defaultLevel log level when `LOG_LEVEL` is unset: `warn` for one-shot commands
 *   (their output is the answer), `info` for the long-running `worker` and `serve`.
 * @throws UsageError when the environment is invalid.
 */
export function setup(defaultLevel: LogLevel = "warn"): CommandSetup {
  const env = loadEnv();
  return { env, logger: createLogger(env.LOG_LEVEL ?? defaultLevel) };
}
