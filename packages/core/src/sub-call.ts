import { createHash } from "node:crypto";
import type { JsonObject, JsonValue } from "./context.js";
import type { SubCallRecord } from "./journal.js";
import type { DocumentRange } from "./sandbox.js";
import type { RlmBudgets } from "./options.js";
import type { UsageTracker } from "./usage.js";

/** A `recursiveLm` call that was not found in the journal and must be carried out. */
export interface SubCallTask {
  /** Journal key of the call (unique within the analysis tree). */
  key: string;
  query: string;
  /** The sub-context as the code passed it. */
  context: JsonValue | undefined;
  /** Where `context` lies in the document, when the sandbox found it there (no copy made). */
  documentRange?: DocumentRange;
  /** The JSON Schema the answer must match, when the code asked for typed JSON. */
  schema?: JsonObject;
  /** Depth of the analysis that made the call (0 for the top analysis). */
  depth: number;
  /** True when the call is itself a nested RLM (depth + 1 < maxDepth). */
  nested: boolean;
  argumentsHash: string;
  /** Usage of the calling analysis: the executor records the call's usage here. */
  usage: UsageTracker;
  /** What is left of the analysis's budgets, for a nested analysis run elsewhere. */
  remainingBudgets: RlmBudgets;
  /**
   * Aborted when the analysis stops (cancelled, a budget spent): an executor whose calls
   * run elsewhere stops waiting for them then, with the signal's reason.
   */
  signal?: AbortSignal;
}

/**
 * Carries out sub-calls. The in-process executor calls the model (or runs a nested
 * analysis) directly; the queue's executor turns each call into a child job.
 * Resolves with the record to journal; a failure the code should see is a record with
 * `error`, while a rejection is reserved for cancellation and budgets.
 */
export interface SubCallExecutor {
  execute(task: SubCallTask): Promise<SubCallRecord>;
  /**
   * True when `record`, which `execute` resolved with for `task`, is in the journal under
   * `task.key` already (the executor's workers journal their answers themselves): the
   * machine then does not write it again. Optional; without it every record is written.
   *
   * Why: in queue mode that second write of each answer was a Redis round trip on the
   * way back from every fan-out, for a write that changes nothing.
   */
  journaled?(task: SubCallTask, record: SubCallRecord): boolean;
}

/** The text a plain sub-call sends: strings as-is, anything else as JSON. */
export function subContextText(context: JsonValue | undefined): string | undefined {
  if (context === undefined || context === null) return undefined;
  return typeof context === "string" ? context : JSON.stringify(context);
}

/**
 * sha256 over the query, the sub-context and the schema: identifies a call for the
 * journal, and tells identical calls of one analysis apart from the rest.
 */
export function subCallArgumentsHash(
  query: string,
  context: JsonValue | undefined,
  schema?: JsonObject,
): string {
  const hash = createHash("sha256");
  hash.update(query);
  // The kind tag keeps the string '["a"]' apart from the array ["a"].
  hash.update(typeof context === "string" ? "\u0000s" : "\u0000j");
  hash.update(subContextText(context) ?? "\u0000none");
  // Without a schema the hash is what it was before schemas existed: journals written
  // then still replay.
  if (schema) hash.update(`\u0000schema${JSON.stringify(schema)}`);
  return hash.digest("hex");
}
