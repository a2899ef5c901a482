import type { ContextDescription } from "../describe-context.js";
import type { SandboxDocument } from "../sandbox.js";

/**
 * A context the machine is told about before it has it: its description (all the first
 * root prompt needs) at once, its sandbox document when the first cell needs it.
 *
 * Why: a worker that must read a large document before the first root call makes the
 * analysis wait for the read and the model in series (measured: ~180 ms at 10 MB, ~1 s
 * at 100 MB before the first root call). Deferred, the read runs while the first root
 * call is in flight (the machine builds its sandbox then, see `whileWarming`).
 */
export interface DeferredContext {
  /** Exactly what `describeContext` gives for the context, or replays would differ. */
  description: ContextDescription;
  /** Loads the document; the caller owns it (and releases it). */
  loadDocument(): Promise<SandboxDocument>;
}
