/**
 * The `data` of each server-sent event of `GET /v1/analyses/:id/events`, as the
 * `AnalysisEvent` component (mirroring `AnalysisEvent` of @rlm/queue; closed, and checked
 * against real streams by the API's tests, as the view schemas are). OpenAPI 3.1 has no
 * way to type the items of an event stream, so the route's 200 names this component in
 * its description and in `x-event-schema`.
 */

const depth = { type: "integer", minimum: 0 } as const;
const count = { type: "integer", minimum: 0 } as const;
const sameAs = {
  type: "string",
  description: "Set when an identical earlier call of the analysis answers it (no model call).",
} as const;

/** An object schema with a fixed `type` and the given required and optional fields. */
function variant(
  type: string,
  required: Record<string, object>,
  optional: Record<string, object> = {},
) {
  return {
    type: "object",
    required: ["type", ...Object.keys(required)],
    additionalProperties: false,
    properties: { type: { type: "string", const: type }, ...required, ...optional },
  } as const;
}

/** The engine's own events, carried inside `iteration` and `subcall` events. */
const iterationEngineEvent = {
  oneOf: [
    variant("iteration_start", { depth, iteration: count, maxIterations: count }),
    variant("iteration_end", {
      depth,
      iteration: count,
      cells: count,
      final: { type: "boolean" },
      usage: { $ref: "UsageSummary#" },
    }),
    variant(
      "cell_end",
      { depth, iteration: count, block: count, durationMs: { type: "number" } },
      { error: { type: "string" } },
    ),
    variant("replay_mismatch", {
      depth,
      iteration: count,
      block: count,
      code: { type: "string", const: "replay_mismatch" },
      message: { type: "string" },
    }),
  ],
} as const;

const subCallEngineEvent = {
  oneOf: [
    variant(
      "subcall_start",
      {
        depth,
        id: { type: "string" },
        query: { type: "string" },
        contextChars: count,
        replayed: { type: "boolean", description: "The answer is already in the journal." },
      },
      { sameAs },
    ),
    variant(
      "subcall_end",
      {
        depth,
        id: { type: "string" },
        durationMs: { type: "number" },
        replayed: { type: "boolean" },
      },
      { sameAs, error: { type: "string" } },
    ),
  ],
} as const;

/** One event of an analysis: the JSON in an SSE message's `data`, its `type` the `event`. */
export const analysisEventSchema = {
  $id: "AnalysisEvent",
  description:
    "The data of one server-sent event; the SSE `event` field is its `type`. After " +
    "`completed`, `failed` or `cancelled` the stream ends.",
  oneOf: [
    variant("status", { status: { $ref: "AnalysisStatus#" } }),
    variant("progress", { progress: { $ref: "AnalysisProgress#" } }),
    variant("iteration", { engine: iterationEngineEvent }),
    variant("subcall", { engine: subCallEngineEvent }),
    variant("completed", {
      answer: { type: "string" },
      finishReason: {
        type: "string",
        enum: ["final", "max_iterations", "budget", "cancelled", "error"],
      },
      iterations: count,
      totalCalls: count,
      usage: { $ref: "UsageSummary#" },
      durationMs: { type: "number" },
    }),
    variant("failed", { error: { $ref: "AnalysisError#" } }),
    variant("cancelled", {}, { reason: { type: "string" } }),
  ],
} as const;
