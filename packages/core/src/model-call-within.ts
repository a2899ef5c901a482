import { setImmediate as nextTurn } from "node:timers/promises";
import type { ModelClient, ModelRequest, ModelResponse } from "./model.js";
import type { RunControl } from "./run-control.js";

/**
 * Makes one model call of an analysis within its concurrency bound and budgets.
 *
 * A client that honours gates ({@link ModelClient.honoursGate}) is given the run's gate
 * in the request and holds a slot only around its HTTP exchange; up to twice as many
 * calls may be inside `complete` meanwhile, so the next request is already built when a
 * slot frees. Why: with the slot held around the whole call, building the next request
 * (and parsing the previous answer) sat between one response arriving and the next
 * request leaving, and a second wave of a fan-out reached the provider over tens of ms.
 *
 * Either way the budgets are checked when the slot is obtained, so a call queued behind
 * others sees the latest spend; a refusal rejects with the `BudgetExceededError`.
 */
export function callModelWithin(
  control: RunControl,
  model: ModelClient,
  request: ModelRequest,
): Promise<ModelResponse> {
  if (!model.honoursGate) {
    return control.limit(() => {
      control.checkBeforeModelCall();
      return model.complete(request);
    });
  }
  return control.pending.run(async () => {
    // More calls inside `complete` than slots: this one will wait for a slot, so it builds
    // its request in a later turn of the event loop. Why: requests are built in steps that
    // interleave across calls, and building the waiting ones now would delay writing the
    // ones that have a slot (the first wave of a fan-out went out ~30 ms later).
    if (control.pending.inUse > control.gate.size) await nextTurn();
    // Checked here as well: no request is built once a budget is spent.
    control.checkBeforeModelCall();
    return model.complete({ ...request, gate: control.modelGate });
  }, request.signal);
}
