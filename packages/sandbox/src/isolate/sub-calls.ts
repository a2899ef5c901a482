import type {
  HostSubCallArguments,
  RuntimeBootArguments,
  SubCallEnvelope,
  SubContextKind,
} from "../isolate-protocol.js";
import { cell } from "./cell-state.js";
import { locateInDocument } from "./document-slices.js";
import type { HostReference } from "./host-reference.js";
import {
  ArrayIsArray,
  bareObject,
  ErrorCtor,
  JsonParse,
  JsonStringify,
  PromiseCtor,
  RangeErrorCtor,
  ReflectApply,
  TypeErrorCtor,
} from "./intrinsics.js";
import { type PromiseState, trackPromise } from "./promise-states.js";

/** The sub-call functions the model's code gets. */
export interface SubCallFunctions {
  recursiveLm(query: unknown, subContext?: unknown, options?: unknown): Promise<unknown>;
  llmQueryBatched(prompts: unknown, subContexts?: unknown): Promise<unknown[]>;
}

const PromiseAll = Promise.all;

/**
 * `recursiveLm(query, subContext?, { schema }?)` and its aliases. Each call goes to the
 * host through `subCallRef` (captured here, never reachable from a global); the promise
 * the code gets is tracked, so printing it shows its state and the host learns how many
 * were still pending when the cell ended (a forgotten `await`).
 */
export function createSubCalls(
  subCallRef: HostReference,
  limits: Pick<RuntimeBootArguments, "pendingSubCallLimit" | "subCallCharsLimit">,
): SubCallFunctions {
  const pendingLimit = limits.pendingSubCallLimit;
  const charsLimit = limits.subCallCharsLimit;
  const referenceApply = subCallRef.apply;
  const applyOptions = bareObject({
    arguments: bareObject({ copy: true }),
    result: bareObject({ promise: true, copy: true }),
  });

  /**
   * Sends one call to the host and settles `holder` as it ends. Arguments are checked
   * before (in `recursiveLm`): a wrong call throws at once, where it was written.
   */
  async function call(
    query: string,
    kind: SubContextKind,
    payload: string | [number, number],
    schemaJson: string,
    holder: PromiseState,
  ): Promise<unknown> {
    const gen = cell.gen;
    const index = cell.subCallIndex;
    cell.subCallIndex += 1;
    cell.pendingSubCalls += 1;
    const args: HostSubCallArguments = [gen, index, query, kind, payload, schemaJson];
    let reply: unknown;
    try {
      reply = await ReflectApply(referenceApply, subCallRef, [undefined, args, applyOptions]);
      // isolated-vm resolves the call's promise with a second promise; if the model's code
      // broke Promise.prototype.then, that adoption is skipped and the inner promise
      // arrives as the value. Awaiting it (await does not look up "then") gets the answer.
      if (reply instanceof PromiseCtor) reply = await reply;
    } finally {
      if (cell.gen === gen) cell.pendingSubCalls -= 1;
    }
    const envelope = (
      typeof reply === "string" ? JsonParse(reply) : null
    ) as SubCallEnvelope | null;
    let failure: Error;
    if (envelope !== null && typeof envelope === "object") {
      if (envelope.ok === true && typeof envelope.value === "string") {
        const value: unknown = schemaJson === "" ? envelope.value : JsonParse(envelope.value);
        holder.state = "fulfilled";
        (holder as { value?: unknown }).value = value;
        return value;
      }
      failure =
        envelope.ok === false && typeof envelope.error === "string"
          ? new ErrorCtor(`sub-call failed: ${envelope.error}`)
          : new ErrorCtor("sub-call failed: the host sent an invalid reply");
    } else {
      failure = new ErrorCtor("sub-call failed: the host sent an invalid reply");
    }
    holder.state = "rejected";
    (holder as { reason?: unknown }).reason = failure;
    throw failure;
  }

  const recursiveLm = function recursiveLm(
    query: unknown,
    subContext?: unknown,
    options?: unknown,
  ) {
    if (typeof query !== "string" || query.length === 0) {
      throw new TypeErrorCtor("recursiveLm(query, subContext?): query must be a non-empty string");
    }
    if (cell.finished) {
      throw new ErrorCtor(
        "recursiveLm() was called after its cell finished; await sub-calls inside the cell",
      );
    }
    const schemaJson = schemaOf(options);
    if (cell.pendingSubCalls >= pendingLimit) {
      throw new RangeErrorCtor(
        `recursiveLm: more than ${pendingLimit} sub-calls pending in one cell; await them in batches (e.g. 50 at a time with Promise.all)`,
      );
    }
    // Indexing, not destructuring: the array iterator is the model's to replace.
    const travel = subContextOf(subContext);
    const payload = travel[1];
    const chars =
      query.length + (typeof payload === "string" ? payload.length : payload[1] - payload[0]);
    if (chars > charsLimit) {
      throw new RangeErrorCtor(
        `recursiveLm: the query and sub-context are ${chars} characters, over the limit of ${charsLimit} per sub-call; split the text into smaller chunks`,
      );
    }
    const holder: PromiseState = { state: "pending" };
    return trackPromise(call(query, travel[0], travel[1], schemaJson, holder), holder);
  };

  const llmQueryBatched = function llm_query_batched(prompts: unknown, subContexts?: unknown) {
    if (!ArrayIsArray(prompts)) {
      throw new TypeErrorCtor("llm_query_batched(prompts): prompts must be an array of strings");
    }
    if (subContexts !== undefined && !ArrayIsArray(subContexts)) {
      throw new TypeErrorCtor(
        "llm_query_batched(prompts, subContexts?): subContexts must be an array",
      );
    }
    const calls: Array<Promise<unknown>> = [];
    for (let index = 0; index < prompts.length; index++) {
      calls[index] = recursiveLm(prompts[index], subContexts?.[index]);
    }
    return ReflectApply(PromiseAll, PromiseCtor, [calls]) as Promise<unknown[]>;
  };

  return { recursiveLm, llmQueryBatched };
}

/** The `{ schema }` option as JSON text; "" without one. */
function schemaOf(options: unknown): string {
  if (options === undefined || options === null) return "";
  if (typeof options !== "object" || ArrayIsArray(options)) {
    throw new TypeErrorCtor(
      "recursiveLm(query, subContext, options): options must be an object like { schema }",
    );
  }
  const schema = (options as { schema?: unknown }).schema;
  if (schema === undefined) return "";
  if (typeof schema !== "object" || schema === null || ArrayIsArray(schema)) {
    throw new TypeErrorCtor(
      "recursiveLm(query, subContext, { schema }): schema must be a JSON Schema object",
    );
  }
  const json = JsonStringify(schema);
  if (typeof json !== "string") {
    throw new TypeErrorCtor("recursiveLm(query, subContext, { schema }): schema must be JSON data");
  }
  return json;
}

/** How the sub-context travels: a slice of the document when it is one, else a copy. */
function subContextOf(subContext: unknown): [SubContextKind, string | [number, number]] {
  if (subContext === undefined) return ["none", ""];
  if (typeof subContext === "string") {
    const at = locateInDocument(subContext);
    return at >= 0 ? ["slice", [at, at + subContext.length]] : ["string", subContext];
  }
  const json = JsonStringify(subContext);
  if (typeof json !== "string") {
    throw new TypeErrorCtor(
      "recursiveLm(query, subContext?): subContext must be a string or JSON data",
    );
  }
  return ["json", json];
}
