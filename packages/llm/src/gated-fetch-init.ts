import type { ConcurrencyGate } from "@rlm/core";

/** The `RequestInit` field that carries a gate from the model client to its fetch. */
const GATE_FIELD = "rlmGate";

/**
 * Extra `RequestInit` fields that hand a {@link ConcurrencyGate} to
 * `createNodeHttpFetch`; the openai SDK spreads a request's `fetchOptions` into the init
 * it gives fetch, so the gate rides along with one request and no other.
 */
export function withGate(gate: ConcurrencyGate): { [GATE_FIELD]: ConcurrencyGate } {
  return { [GATE_FIELD]: gate };
}

/** The gate `init` carries, if any. */
export function gateOf(init: RequestInit | undefined): ConcurrencyGate | undefined {
  const gate = (init as Record<string, unknown> | undefined)?.[GATE_FIELD];
  return gate === undefined ? undefined : (gate as ConcurrencyGate);
}
