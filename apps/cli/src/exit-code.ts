import type { RlmResult } from "@rlm/core";
import { EXIT } from "./usage-error.js";

/** Provider errors that mean "fix your configuration", reported like usage errors. */
const CONFIGURATION_ERRORS = new Set(["connection_failed", "authentication_failed"]);

/**
 * The exit code for a finished analysis: 0 when it produced its answer (`final`, or
 * `max_iterations`, where the model was asked for its best answer), 130 when cancelled,
 * 2 for an unreachable endpoint or a rejected key, 1 for other errors and for a budget
 * that ran out (the answer is partial at best).
 */
export function exitCodeFor(result: RlmResult): number {
  switch (result.finishReason) {
    case "final":
    case "max_iterations":
      return EXIT.ok;
    case "cancelled":
      return EXIT.interrupted;
    case "budget":
      return EXIT.failed;
    case "error":
      return result.error !== undefined && CONFIGURATION_ERRORS.has(result.error.code)
        ? EXIT.usage
        : EXIT.failed;
  }
}
