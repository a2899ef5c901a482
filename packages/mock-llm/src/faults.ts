import type { FaultOptions, RequestKind } from "./options.js";
import type { Prng } from "./prng.js";

/** A fault the mock injected into a response. */
export type FaultKind =
  "rate_limit" | "server_error" | "hang" | "malformed" | "empty" | "bad_request";

/**
 * Decides the fault for one request. `badRequestWhen` is deterministic and applies to
 * every kind; the random faults take one draw per request (always, so the sequence
 * depends only on the request order, not on which kinds are eligible) and are laid out
 * end to end on [0, 1): a rate of 1.0 makes that fault certain, rates summing past 1
 * favour the ones listed first.
 */
export function decideFault(
  faults: FaultOptions,
  faultKinds: readonly RequestKind[] | undefined,
  kind: RequestKind,
  lastUserMessage: string,
  random: Prng,
): FaultKind | undefined {
  const draw = random();
  if (faults.badRequestWhen !== undefined && lastUserMessage.includes(faults.badRequestWhen)) {
    return "bad_request";
  }
  if (faultKinds !== undefined && !faultKinds.includes(kind)) return undefined;
  const ladder: Array<[FaultKind, number]> = [
    ["rate_limit", faults.rateLimitRate],
    ["server_error", faults.serverErrorRate],
    ["hang", faults.hangRate],
    ["malformed", faults.malformedRate],
    ["empty", faults.emptyRate],
  ];
  let edge = 0;
  for (const [fault, rate] of ladder) {
    edge += rate;
    if (draw < edge) return fault;
  }
  return undefined;
}
