import type { RlmContext } from "../context.js";
import { DocumentLoadError } from "../errors.js";
import type { RunControl } from "../run-control.js";
import type {
  CellResult,
  Sandbox,
  SandboxDocument,
  SandboxFactory,
  SandboxLimits,
  SubCallHandler,
  SubCallRequest,
} from "../sandbox.js";
import type { Journal } from "../journal.js";
import type { DeferredContext } from "./deferred-context.js";
import {
  type ExecutedCell,
  historyCell,
  type LiveSandbox,
  type SessionPrelude,
} from "./session-prelude.js";
import type { SubCallRouter } from "./sub-call-router.js";
import { inSpan, SpanAttributes, SpanNames } from "../tracing.js";

/** What a session is built from. */
export interface SandboxSessionOptions {
  factory: SandboxFactory;
  context: RlmContext | { deferred: DeferredContext };
  /** A document the caller loaded (and keeps after the analysis). */
  document?: SandboxDocument;
  seed: string;
  clockStartMs?: number;
  limits: SandboxLimits;
  control: RunControl;
  router: SubCallRouter;
  /** For a question of a session: the REPL its earlier questions left. */
  prelude?: SessionPrelude;
  /** A router for an earlier question's journal (replaying its cells in a rebuild). */
  routerFor?: (journal: Journal) => SubCallRouter;
}

/**
 * The REPL of one analysis across its cells: the sandbox, built when first needed and
 * rebuilt by replaying every earlier cell (with sub-call answers from the journal) when
 * its isolate was lost, and the document it holds.
 */
export class SandboxSession {
  readonly #options: SandboxSessionOptions;
  #live: LiveSandbox | undefined;
  /** True once the live sandbox went to the next question of a session (not disposed here). */
  #handedOver = false;
  #document: SandboxDocument | undefined;
  readonly #ownsDocument: boolean;
  /** Cells that ran without losing the isolate, in order: what a rebuild replays. */
  readonly #executedCells: ExecutedCell[] = [];
  #activeHandler: SubCallHandler | undefined;

  constructor(options: SandboxSessionOptions) {
    this.#options = options;
    this.#document = options.document;
    this.#ownsDocument = options.document === undefined && !isDeferred(options.context);
  }

  /**
   * Runs a cell; resolves once it and every sub-call it started have ended (calls it did
   * not await finish, and are journaled, before the analysis moves on: none may run
   * during the next model turn or outlive the analysis).
   */
  async execute(
    code: string,
    cellKey: string,
  ): Promise<{ result: CellResult; newSubCalls: number }> {
    const sandbox = await this.ensure();
    const calls = this.#options.router.forCell(cellKey, false);
    this.#activeHandler = calls.handler;
    const result = await sandbox.execute({ code, cellKey, signal: this.#options.control.signal });
    await calls.drain();
    if (!result.sandboxLost) this.#executedCells.push({ code, cellKey });
    return { result, newSubCalls: calls.misses() };
  }

  /** A variable's value as answer text (text `FINAL_VAR(name)`), or undefined. */
  async readVariable(name: string): Promise<string | undefined> {
    return (await this.ensure()).readVariable(name);
  }

  /** The variables the model's code defined. */
  async variableNames(): Promise<string[]> {
    return (await this.ensure()).variableNames();
  }

  /**
   * Runs `turn` (a root model call) while the first sandbox is built, so the isolate and
   * the document copy cost no time on the analysis's critical path: the first cell would
   * otherwise build them after the model has answered. Only for a sandbox with no cells
   * to replay, and only once the turn's request is on its way (`turn` calls `sent`: when
   * the model client reports its request written, see `ModelClient.reportsSent`): a turn
   * taken from the journal has no model call to overlap. A failure is left for the first
   * cell to meet (and report) again.
   */
  async whileWarming<T>(turn: (sent: () => void) => Promise<T>): Promise<T> {
    if (this.#live || this.#executedCells.length > 0) return turn(() => undefined);
    let warming: Promise<void> | undefined;
    const sent = () => {
      // In a later phase of the event loop than the request's write: building an isolate
      // and loading the document block this thread a while, and the request must leave
      // first. Why `sent` waits for the write itself where the client can tell: the SDK
      // builds a request over several turns of the event loop, and warming started one
      // turn after the call held the first request back by the whole build (measured: the
      // first root turn reached the mock 7–9 ms after the analysis began, 1–2 without).
      warming ??= new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.ensure())
        .then(
          () => undefined,
          () => undefined,
        );
    };
    try {
      return await turn(sent);
    } finally {
      // A step leaves nothing running behind it.
      await warming;
    }
  }

  /** The cells that ran without losing the isolate, in order. */
  executedCells(): ExecutedCell[] {
    return this.#executedCells.map((cell) => ({ ...cell }));
  }

  /**
   * Gives the open sandbox to the next question of a session (which re-points its
   * sub-calls); this session no longer disposes it. Undefined when there is none.
   */
  handOver(): LiveSandbox | undefined {
    const live = this.#live;
    if (!live || live.sandbox.disposed) return undefined;
    this.#handedOver = true;
    return live;
  }

  /** Releases the sandbox (unless handed over) and the document, when this session loaded it. */
  dispose(): void {
    if (!this.#handedOver) this.#live?.sandbox.dispose();
    this.#live = undefined;
    if (this.#ownsDocument) this.#document?.release();
    this.#document = undefined;
  }

  /**
   * The sandbox, rebuilt when missing or lost: a new isolate gets the document and
   * replays every earlier cell with sub-call answers from the journal.
   */
  async ensure(): Promise<Sandbox> {
    if (this.#live && !this.#live.sandbox.disposed) return this.#live.sandbox;
    if (this.#live) {
      this.#live.sandbox.dispose();
      this.#live = undefined;
    } else {
      const adopted = await this.#adopt();
      if (adopted) return adopted;
    }
    const { control, factory, context } = this.#options;
    // Loading may take long (a large deferred document): nothing is loaded or built for a
    // run that ended meanwhile (cancelled, or past a budget: the signal's reason says).
    control.signal.throwIfAborted();
    this.#document ??= isDeferred(context)
      ? await loadDeferred(context.deferred)
      : await factory.loadDocument(context);
    control.signal.throwIfAborted();
    const live: LiveSandbox = {
      sandbox: undefined as unknown as Sandbox,
      dispatch: (request) => this.#dispatch(request),
    };
    live.sandbox = await factory.create({
      document: this.#document,
      seed: this.#options.seed,
      ...(this.#options.clockStartMs === undefined
        ? {}
        : { clockStartMs: this.#options.clockStartMs }),
      limits: this.#options.limits,
      // Through `live`: a session's next question re-points where its sub-calls go.
      onSubCall: (request) => live.dispatch(request),
    });
    this.#live = live;
    const sandbox = live.sandbox;
    const replay = async () => {
      await this.#replayPrelude(sandbox);
      for (const cell of this.#executedCells) {
        // Replaying for a rebuild: these calls were counted when they first ran.
        const calls = this.#options.router.forCell(cell.cellKey, true);
        this.#activeHandler = calls.handler;
        await sandbox.execute(cell);
        await calls.drain();
      }
    };
    const earlier = this.#options.prelude?.earlier ?? [];
    const cells = earlier.reduce((sum, question) => sum + question.cells.length, 0);
    const replayed = cells + this.#executedCells.length;
    if (replayed === 0) await replay();
    else await inSpan(SpanNames.replRebuild, { [SpanAttributes.replayedCells]: replayed }, replay);
    return sandbox;
  }

  /**
   * Takes over the sandbox the previous question of a session left open: its sub-calls
   * now come here, and `history` is set for this question. Undefined when there is none.
   */
  async #adopt(): Promise<Sandbox | undefined> {
    const prelude = this.#options.prelude;
    const live = prelude?.live;
    if (!prelude || !live || live.sandbox.disposed) return undefined;
    prelude.live = undefined;
    live.dispatch = (request) => this.#dispatch(request);
    this.#live = live;
    await this.#runUnjournaled(live.sandbox, historyCell(prelude));
    return live.sandbox;
  }

  /**
   * A new sandbox for a question of a session: every earlier question's cells replayed
   * (their sub-calls answered from their journals), then `history` set.
   */
  async #replayPrelude(sandbox: Sandbox): Promise<void> {
    const prelude = this.#options.prelude;
    if (!prelude) return;
    for (const question of prelude.earlier) {
      const router = this.#options.routerFor?.(question.journal);
      for (const cell of question.cells) {
        const calls = router?.forCell(cell.cellKey, true);
        this.#activeHandler = calls?.handler;
        await sandbox.execute(cell);
        await calls?.drain();
      }
    }
    await this.#runUnjournaled(sandbox, historyCell(prelude));
  }

  /** A cell of the runtime's own (no sub-calls, nothing journaled). */
  async #runUnjournaled(sandbox: Sandbox, cell: ExecutedCell): Promise<void> {
    this.#activeHandler = undefined;
    await sandbox.execute(cell);
  }

  #dispatch(request: SubCallRequest): Promise<string> {
    if (!this.#activeHandler) return Promise.reject(new Error("no cell is running"));
    return this.#activeHandler(request);
  }
}

async function loadDeferred(deferred: DeferredContext): Promise<SandboxDocument> {
  try {
    return await deferred.loadDocument();
  } catch (error) {
    throw new DocumentLoadError(error);
  }
}

/**
 * True for a deferred context. A context object of the user's own can never be taken
 * for one: the wrapper's `deferred` holds an object with a `loadDocument` function, and a
 * user's context is JSON (no functions).
 */
export function isDeferred(
  context: RlmContext | { deferred: DeferredContext },
): context is { deferred: DeferredContext } {
  if (typeof context !== "object" || context === null || Array.isArray(context)) return false;
  const deferred = (context as { deferred?: unknown }).deferred;
  return (
    typeof deferred === "object" &&
    deferred !== null &&
    typeof (deferred as { loadDocument?: unknown }).loadDocument === "function"
  );
}
