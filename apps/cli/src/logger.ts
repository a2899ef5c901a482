import { destination, type Logger, pino } from "pino";
import type { LogLevel } from "./env.js";

/**
 * Structured logs on stderr (stdout carries the answer and `--json` output). Secrets and
 * document text are redacted wherever they appear in a log object, so a debug log can be
 * attached to a bug report as is.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      name: "rlm",
      level,
      redact: {
        paths: [
          "apiKey",
          "*.apiKey",
          "authorization",
          "*.authorization",
          "headers.authorization",
          "context",
          "*.context",
          "document",
          "*.document",
          "answer",
          "*.answer",
          "query",
          "*.query",
        ],
        censor: "[redacted]",
      },
    },
    // Synchronous: the CLI exits right after its last line, and async logs would be lost.
    destination({ dest: 2, sync: true }),
  );
}
