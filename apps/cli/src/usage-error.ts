/**
 * A problem with how the CLI was invoked or configured (missing key, unreadable file,
 * bad number, unreachable endpoint): printed as one `error: …` line, exit code 2.
 * Anything else that escapes a command is a failure of the run itself (exit code 1).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit codes of the `rlm` command. */
export const EXIT = {
  ok: 0,
  /** The analysis ran and failed, or an unexpected error. */
  failed: 1,
  /** Usage or configuration problem: nothing was run. */
  usage: 2,
  /** Interrupted by SIGINT/SIGTERM (128 + SIGINT). */
  interrupted: 130,
} as const;
