import { destination, type DestinationStream, type Logger, pino } from "pino";
import pinoPretty from "pino-pretty";
import type { LogLevel } from "./env.js";

/** How {@link createLogger} writes its lines. */
export interface LogOutput {
  /**
   * Human-readable lines (pino-pretty: time, level, message, then the fields on the same
   * line) instead of one JSON object per line. Default: when stderr is a terminal.
   */
  pretty?: boolean;
  /** Colours in pretty lines. Default: unless `NO_COLOR` is set (no-color.org). */
  colorize?: boolean;
  /** Where lines go. Default: stderr (file descriptor 2), written synchronously. */
  destination?: NodeJS.WritableStream;
}

/**
 * Structured logs on stderr (stdout carries the answer and `--json` output): readable
 * lines on a terminal, JSON otherwise (a file, a pipe, a container's log collector).
 * Secrets and document text are redacted wherever they appear in a log object, so a
 * debug log can be attached to a bug report as is.
 */
export function createLogger(level: LogLevel, output: LogOutput = {}): Logger {
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
    logDestination(output),
  );
}

/** The stream of {@link createLogger}: checked against stderr, where the lines go. */
function logDestination(output: LogOutput): DestinationStream {
  // Logs go to stderr, so stderr decides: `rlm worker > out.txt` on a terminal still
  // logs readable lines, `rlm worker 2> worker.log` writes JSON.
  const pretty = output.pretty ?? process.stderr.isTTY === true;
  if (!pretty) {
    // Synchronous: the CLI exits right after its last line, and async logs would be lost.
    return output.destination ?? destination({ dest: 2, sync: true });
  }
  return pinoPretty({
    destination: output.destination ?? 2,
    sync: true,
    colorize: output.colorize ?? !("NO_COLOR" in process.env),
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    // On one terminal the process, host and logger name say nothing.
    ignore: "pid,hostname,name",
  });
}
