import { context, type Span } from "@opentelemetry/api";
import type { RlmEvent } from "../events.js";
import type { SubCallRecord } from "../journal.js";
import { journalKeys } from "../journal.js";
import type { RunControl } from "../run-control.js";
import type { SubCallHandler, SubCallRequest } from "../sandbox.js";
import {
  type SubCallExecutor,
  type SubCallTask,
  subCallArgumentsHash,
  subContextText,
} from "../sub-call.js";
import { NO_USAGE } from "../sub-call-records.js";
import { failSpan, inSpan, SpanAttributes, SpanNames, setUsageAttributes } from "../tracing.js";
import type { UsageTracker } from "../usage.js";
import { answerOf, asSub } from "./cell-records.js";
import type { JournalPolicy } from "./journal-policy.js";

/** The `recursiveLm` of one cell, and how to wait for what it started. */
export interface CellCalls {
  handler: SubCallHandler;
  /** Resolves once every call the cell started has ended. */
  drain(): Promise<void>;
  /** Calls the journal did not hold (carried out, not replayed). */
  misses(): number;
}

/** What the router needs of its analysis. */
export interface SubCallRouterDeps {
  journal: JournalPolicy;
  executor: SubCallExecutor;
  control: RunControl;
  usage: UsageTracker;
  depth: number;
  /** True when the analysis's sub-calls are nested analyses (depth + 1 < maxDepth). */
  nested: boolean;
  emit(event: RlmEvent): void;
}

/**
 * Routes an analysis's sub-calls: from the journal when an earlier run answered them,
 * from an identical call of this analysis answered before (or in flight), else through
 * the executor, journaling each answer before the code sees it.
 *
 * Why answer identical calls once: a model that forgot an `await` is told so and asks
 * again; the calls it made first were paid for (they run to their end), and the same
 * question over the same text must not be paid twice. Such a call is journaled under its
 * own key like any other (with `sameAs`), so replay and resume stay exact.
 */
export class SubCallRouter {
  readonly #deps: SubCallRouterDeps;
  /** Answers by argument hash: the journal key and record of the first such call. */
  readonly #answered = new Map<
    string,
    Promise<{ key: string; record: SubCallRecord } | undefined>
  >();

  constructor(deps: SubCallRouterDeps) {
    this.#deps = deps;
  }

  /**
   * The handler for the cell `cellKey`. `rebuilding` marks the replay of an earlier cell
   * into a new isolate: its journaled calls were counted (budgets, usage, progress) when
   * they first ran, so not again.
   */
  forCell(cellKey: string, rebuilding: boolean): CellCalls {
    // isolated-vm calls `recursiveLm` outside the cell's async context (an
    // AsyncLocalStorage value set around a cell is gone in its calls, checked), so the
    // cell's trace context is taken here, where it is still the active one.
    const cellContext = context.active();
    const occurrences = new Map<string, number>();
    const inFlight = new Set<Promise<string>>();
    let misses = 0;
    const handle = async (request: SubCallRequest, span?: Span): Promise<string> => {
      const { control, journal } = this.#deps;
      // Each call goes on in a task of its own. The sandbox hands over a burst of calls
      // (a Promise.all over chunks) in one go, and node writes a request to its socket
      // only between tasks: without this, the first model request of a fan-out would
      // leave only once every call of the burst had been prepared.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Stopped meanwhile (a budget spent by an earlier answer): no call is started.
      if (!rebuilding) control.signal.throwIfAborted();
      const argumentsHash = subCallArgumentsHash(request.query, request.context, request.schema);
      const occurrence = occurrences.get(argumentsHash) ?? 0;
      occurrences.set(argumentsHash, occurrence + 1);
      const key = journalKeys.subCall(cellKey, argumentsHash, occurrence);
      span?.setAttribute(SpanAttributes.subCallKey, key);
      const existing = await journal.lookUp(key, rebuilding);
      if (existing?.kind === "sub") {
        this.#remember(argumentsHash, key, existing);
        if (rebuilding) return answerOf(existing);
      }
      let carriedOut = false;
      const outcome =
        existing?.kind === "sub"
          ? await this.#replay(key, request, existing)
          : await this.#answer(key, request, argumentsHash, () => {
              carriedOut = true;
              misses += 1;
            });
      if (span)
        traceOutcome(span, outcome, existing ? "journal" : carriedOut ? "executed" : "same_as");
      return answerOf(outcome);
    };
    const attributes = {
      [SpanAttributes.depth]: this.#deps.depth,
      [SpanAttributes.nested]: this.#deps.nested,
    };
    const handler: SubCallHandler = (request) => {
      // A rebuild's calls were traced when they first ran.
      const call = rebuilding
        ? handle(request)
        : inSpan(SpanNames.subCall, attributes, (span) => handle(request, span), cellContext);
      inFlight.add(call);
      const forget = () => inFlight.delete(call);
      call.then(forget, forget);
      return call;
    };
    const drain = async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    };
    return { handler, drain, misses: () => misses };
  }

  /** A call answered by an earlier run: counted (it is this run's progress) but not paid. */
  async #replay(
    key: string,
    request: SubCallRequest,
    record: SubCallRecord,
  ): Promise<SubCallRecord> {
    const { control, usage } = this.#deps;
    const startedAt = Date.now();
    control.reserveSubCall();
    this.#emitStart(key, request, { replayed: true, sameAs: record.sameAs });
    usage.recordReplayed(record.byModel, record.calls);
    this.#emitEnd(key, startedAt, record, { replayed: true, sameAs: record.sameAs });
    return record;
  }

  /** A call the journal does not hold: an identical earlier call's answer, or a new one. */
  async #answer(
    key: string,
    request: SubCallRequest,
    argumentsHash: string,
    missed: () => void,
  ): Promise<SubCallRecord> {
    const pending = this.#answered.get(argumentsHash);
    // No await unless there is one to wait for: two identical calls of one burst must not
    // both find nothing and both be carried out.
    const earlier = pending ? await pending : undefined;
    if (earlier) return this.#repeat(key, request, earlier);
    missed();
    const carriedOut = this.#carryOut(key, request, argumentsHash);
    this.#answered.set(
      argumentsHash,
      carriedOut.then(
        (record) => (record.error ? undefined : { key, record }),
        () => undefined,
      ),
    );
    return carriedOut;
  }

  /** Answers with an identical earlier call's answer: journaled, no model call. */
  async #repeat(
    key: string,
    request: SubCallRequest,
    earlier: { key: string; record: SubCallRecord },
  ): Promise<SubCallRecord> {
    const startedAt = Date.now();
    const sameAs = earlier.record.sameAs ?? earlier.key;
    this.#emitStart(key, request, { replayed: false, sameAs });
    const record: SubCallRecord = {
      ...earlier.record,
      usage: { ...NO_USAGE },
      byModel: {},
      calls: 0,
      durationMs: 0,
      sameAs,
    };
    const stored = asSub(await this.#deps.journal.put(key, record));
    this.#emitEnd(key, startedAt, stored, { replayed: false, sameAs });
    return stored;
  }

  /** Carries a call out through the executor and journals its answer. */
  async #carryOut(
    key: string,
    request: SubCallRequest,
    argumentsHash: string,
  ): Promise<SubCallRecord> {
    const { control, executor, journal, usage, depth } = this.#deps;
    const startedAt = Date.now();
    control.reserveSubCall();
    const contextChars = subContextText(request.context)?.length ?? 0;
    this.#emitStart(key, request, { replayed: false });
    const release = control.holdSubContext(contextChars);
    let record: SubCallRecord;
    try {
      const task: SubCallTask = {
        key,
        query: request.query,
        context: request.context,
        ...(request.documentRange ? { documentRange: request.documentRange } : {}),
        ...(request.schema ? { schema: request.schema } : {}),
        depth,
        nested: this.#deps.nested,
        argumentsHash,
        usage,
        remainingBudgets: control.remainingBudgets(),
        signal: control.signal,
      };
      const executed = await executor.execute(task);
      record = executor.journaled?.(task, executed)
        ? executed
        : asSub(await journal.put(key, executed));
      // Its usage is counted now: a spent token or cost budget stops the rest of the
      // fan-out here (through the queue, no other check sees sub-calls' spend).
      control.stopIfSpent();
    } finally {
      release();
    }
    this.#emitEnd(key, startedAt, record, { replayed: false });
    return record;
  }

  /** Records a journaled answer so identical later calls reuse it. */
  #remember(argumentsHash: string, key: string, record: SubCallRecord): void {
    if (record.error || this.#answered.has(argumentsHash)) return;
    this.#answered.set(argumentsHash, Promise.resolve({ key, record }));
  }

  #emitStart(
    key: string,
    request: SubCallRequest,
    how: { replayed: boolean; sameAs?: string | undefined },
  ): void {
    this.#deps.emit({
      type: "subcall_start",
      depth: this.#deps.depth,
      id: key,
      query: request.query,
      contextChars: subContextText(request.context)?.length ?? 0,
      replayed: how.replayed,
      ...(how.sameAs === undefined ? {} : { sameAs: how.sameAs }),
    });
  }

  #emitEnd(
    key: string,
    startedAt: number,
    record: SubCallRecord,
    how: { replayed: boolean; sameAs?: string | undefined },
  ): void {
    this.#deps.emit({
      type: "subcall_end",
      depth: this.#deps.depth,
      id: key,
      durationMs: Date.now() - startedAt,
      replayed: how.replayed,
      ...(how.sameAs === undefined ? {} : { sameAs: how.sameAs }),
      ...(record.error === undefined ? {} : { error: record.error.message }),
    });
  }
}

/**
 * A sub-call's span once answered: where the answer came from, and the usage of the
 * model calls made for it here (none for an answer from the journal or an identical call).
 */
function traceOutcome(
  span: Span,
  record: SubCallRecord,
  source: "journal" | "same_as" | "executed",
): void {
  if (!span.isRecording()) return;
  span.setAttribute(SpanAttributes.subCallSource, source);
  span.setAttribute(SpanAttributes.contextChars, record.contextChars);
  if (source === "executed") setUsageAttributes(span, record.usage, Object.keys(record.byModel));
  if (record.error) failSpan(span, record.error);
}
