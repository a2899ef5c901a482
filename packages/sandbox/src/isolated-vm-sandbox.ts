import {
  type CellInput,
  type CellResult,
  InvalidOptionsError,
  type DocumentRange,
  type JsonObject,
  type JsonValue,
  type Sandbox,
  type SandboxLimits,
  type SandboxOptions,
  type SubCallHandler,
} from "@rlm/core";
import ivm from "isolated-vm";
import { deriveCellSeed } from "./cell-seed.js";
import { type CellSnapshot, parseCellSnapshot } from "./cell-snapshot.js";
import { type CellBreach, type CellWatchdog, watchCell } from "./cell-watchdog.js";
import { clip, describeHostError, isIvmTimeout, messageOf } from "./host-errors.js";
import { ISOLATE_RUNTIME_BUNDLE } from "./generated/isolate-runtime.js";
import { CELL_FILE_PREFIX } from "./isolate-protocol.js";
import type { IsolatedVmDocument } from "./isolated-vm-document.js";
import { CellSyntaxError, rewriteCell } from "./rewrite-cell.js";
import { SandboxError } from "./sandbox-errors.js";
import { SerialQueue } from "./serial-queue.js";

/** Tuning knobs of the isolated-vm sandbox; the defaults suit production. */
export interface IsolatedVmSandboxTuning {
  /** How often the watchdog polls CPU time and disposal, in ms. Default 10. */
  watchdogPollMs?: number;
  /** Time allowed for creating the runtime inside a new isolate, in ms. Default 10 000. */
  bootstrapTimeoutMs?: number;
}

type ControlFunction = (op: string, ...args: unknown[]) => unknown;

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;
const MAX_NOTES = 5;
const NOTE_CHARS = 500;
// After a wall-clock breach the isolate is usually idle (awaiting); this long is spent
// fetching what the cell printed before it is discarded.
const SALVAGE_MS = 100;

function validateLimits(limits: SandboxLimits): void {
  const positive = (value: number) => Number.isFinite(value) && value > 0;
  if (!positive(limits.cellTimeoutMs)) {
    throw new InvalidOptionsError("limits.cellTimeoutMs must be a positive number");
  }
  if (!positive(limits.cellCpuMs)) {
    throw new InvalidOptionsError("limits.cellCpuMs must be a positive number");
  }
  if (!Number.isFinite(limits.memoryMb) || limits.memoryMb < 8) {
    throw new InvalidOptionsError("limits.memoryMb must be at least 8");
  }
  if (!Number.isInteger(limits.outputChars) || limits.outputChars < 0) {
    throw new InvalidOptionsError("limits.outputChars must be a non-negative integer");
  }
  if (!Number.isInteger(limits.answerChars) || limits.answerChars < 1) {
    throw new InvalidOptionsError("limits.answerChars must be a positive integer");
  }
  if (!Number.isInteger(limits.maxPendingSubCalls) || limits.maxPendingSubCalls < 1) {
    throw new InvalidOptionsError("limits.maxPendingSubCalls must be a positive integer");
  }
  if (!Number.isInteger(limits.subCallChars) || limits.subCallChars < 1) {
    throw new InvalidOptionsError("limits.subCallChars must be a positive integer");
  }
}

/**
 * The bootstrap: the runtime's bundle (src/isolate/, see scripts/bundle-isolate.mjs), then
 * its `boot` with the host references and settings as closure arguments.
 */
const BOOTSTRAP_SOURCE = `${ISOLATE_RUNTIME_BUNDLE}
return rlmIsolateRuntime.boot($0, $1, $2, { outputLimit: $3, answerLimit: $4, pendingSubCallLimit: $5, subCallCharsLimit: $6 });`;

function outcome<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * The REPL on one isolated-vm isolate; the behaviour is described on
 * `createIsolatedVmSandboxFactory`, which creates it through {@link IsolatedVmSandbox.create}.
 *
 * A cell runs in three steps: `run` evaluates it under isolated-vm's `timeout` (its
 * synchronous part), the isolate reports through a callback when the cell's promise has
 * settled, and `collect` reads output, error and final answer. A watchdog (wall clock,
 * CPU time, isolate disposal) covers everything after the synchronous part.
 */
export class IsolatedVmSandbox implements Sandbox {
  readonly #isolate: ivm.Isolate;
  readonly #context: ivm.Context;
  readonly #limits: SandboxLimits;
  readonly #seed: string;
  readonly #clockStartMs: number | undefined;
  readonly #onSubCall: SubCallHandler;
  readonly #pollMs: number;
  readonly #queue = new SerialQueue();
  /** The document as a host string sharing the copy's memory; slices of it are chunks. */
  readonly #documentText: string | undefined;
  readonly #subCallRef: ivm.Reference<unknown>;
  readonly #doneRef: ivm.Reference<unknown>;
  #control: ivm.Reference<ControlFunction> | undefined;

  #generation = 0;
  /** Generation of the running cell, 0 between cells: sub-calls are only taken during one. */
  #activeGen = 0;
  #cellSubCalls = 0;
  /** The running cell's watchdog: its wall clock stops while a sub-call is pending. */
  #watchdog: CellWatchdog | undefined;
  #notes: string[] = [];
  #droppedNotes = 0;
  #doneWaiter: { gen: number; resolve: () => void } | undefined;
  /** Why the sandbox cannot run cells any more; undefined while it can. */
  #lostReason: string | undefined;
  #disposedByOwner = false;

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    options: SandboxOptions,
    tuning: IsolatedVmSandboxTuning,
    documentText: string | undefined,
  ) {
    this.#documentText = documentText;
    this.#isolate = isolate;
    this.#context = context;
    this.#limits = options.limits;
    this.#seed = options.seed;
    this.#clockStartMs = options.clockStartMs;
    this.#onSubCall = options.onSubCall;
    this.#pollMs = tuning.watchdogPollMs ?? 10;
    this.#subCallRef = new ivm.Reference(this.#handleSubCall);
    this.#doneRef = new ivm.Reference(this.#handleDone);
  }

  /**
   * Creates an isolate with the document as `context` and the REPL globals.
   *
   * @throws {InvalidOptionsError} for invalid limits.
   * @throws {SandboxError} `sandbox_create_failed` when the isolate cannot be set up
   * (e.g. the document does not fit in `memoryMb`).
   */
  static async create(
    document: IsolatedVmDocument,
    options: SandboxOptions,
    tuning: IsolatedVmSandboxTuning = {},
  ): Promise<IsolatedVmSandbox> {
    validateLimits(options.limits);
    const documentCopy = document.copyForIsolate();
    const isolate = new ivm.Isolate({ memoryLimit: options.limits.memoryMb });
    try {
      const context = await isolate.createContext();
      const sandbox = new IsolatedVmSandbox(
        isolate,
        context,
        options,
        tuning,
        document.sharedText(),
      );
      // Host references go into the bootstrap closure as arguments, never onto a global.
      const args: ivm.Transferable[] = [
        sandbox.#subCallRef,
        sandbox.#doneRef,
        documentCopy as unknown as ivm.Transferable,
        options.limits.outputChars,
        options.limits.answerChars,
        options.limits.maxPendingSubCalls,
        options.limits.subCallChars,
      ];
      sandbox.#control = (await context.evalClosure(BOOTSTRAP_SOURCE, args, {
        result: { reference: true },
        timeout: tuning.bootstrapTimeoutMs ?? 10_000,
      })) as ivm.Reference<ControlFunction>;
      return sandbox;
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw new SandboxError(
        "sandbox_create_failed",
        `the sandbox could not be created: ${describeHostError(error)}`,
        { cause: error },
      );
    }
  }

  get disposed(): boolean {
    return this.#lostReason !== undefined || this.#isolate.isDisposed;
  }

  execute(cell: CellInput): Promise<CellResult> {
    return this.#queue.run(() => this.#runCell(cell));
  }

  readVariable(name: string): Promise<string | undefined> {
    if (typeof name !== "string" || !IDENTIFIER.test(name)) {
      return Promise.reject(
        new SandboxError("invalid_variable_name", `not a variable name: ${JSON.stringify(name)}`),
      );
    }
    return this.#queue.run(() => this.#read(name));
  }

  variableNames(): Promise<string[]> {
    return this.#queue.run(async () => {
      if (this.disposed || !this.#control) return [];
      const names: unknown = await this.#control.apply(undefined, ["variables"], {
        result: { copy: true },
        timeout: this.#limits.cellCpuMs,
      });
      // Built by the runtime, but the model's code shares the isolate: checked.
      return Array.isArray(names) ? names.filter((name) => typeof name === "string") : [];
    });
  }

  async idle(): Promise<void> {
    if (this.disposed) return;
    try {
      // Queued behind whatever the isolate is running now.
      await this.#context.eval("undefined");
    } catch {
      // Disposed meanwhile, or a stray rejection from the model's code: idle either way.
    }
  }

  dispose(): void {
    if (this.#disposedByOwner) return;
    this.#disposedByOwner = true;
    this.#lostReason ??= "the sandbox was disposed";
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
    for (const reference of [this.#control, this.#subCallRef, this.#doneRef]) {
      try {
        reference?.release();
      } catch {
        // Already invalid with the isolate gone.
      }
    }
  }

  // ---- host side of the isolate's calls ----

  /** The isolate's `recursiveLm`. Always resolves: a rejection would be unhandled in Node. */
  readonly #handleSubCall = async (
    gen: unknown,
    index: unknown,
    query: unknown,
    kind: unknown,
    payload: unknown,
    schemaJson: unknown,
  ): Promise<string> => {
    const watchdog = this.#watchdog;
    let started = false;
    try {
      if (this.#activeGen === 0 || gen !== this.#activeGen) {
        throw new Error(
          "recursiveLm() was called after its cell finished; await it inside the cell",
        );
      }
      if (typeof query !== "string" || typeof index !== "number") {
        throw new Error("invalid sub-call arguments");
      }
      let context: JsonValue | undefined;
      let documentRange: DocumentRange | undefined;
      if (kind === "string" && typeof payload === "string") context = payload;
      else if (kind === "json" && typeof payload === "string")
        context = JSON.parse(payload) as JsonValue;
      else if (kind === "slice") {
        documentRange = this.#rangeOf(payload);
        // A substring of the shared document: V8 shares the memory, nothing is copied.
        context = this.#documentText?.slice(documentRange.start, documentRange.end);
      }
      const schema = schemaOf(schemaJson);
      this.#cellSubCalls += 1;
      watchdog?.subCallStarted();
      started = true;
      const value = await this.#onSubCall({
        query,
        context,
        index,
        ...(documentRange ? { documentRange } : {}),
        ...(schema ? { schema } : {}),
      });
      if (typeof value !== "string") throw new Error("the sub-call answer is not a string");
      return JSON.stringify({ ok: true, value });
    } catch (error) {
      return JSON.stringify({ ok: false, error: messageOf(error) });
    } finally {
      if (started) watchdog?.subCallEnded();
    }
  };

  /** A `[start, end]` the isolate sent as a slice of the document, checked. */
  #rangeOf(payload: unknown): DocumentRange {
    const length = this.#documentText?.length ?? -1;
    if (Array.isArray(payload) && payload.length === 2) {
      const [start, end] = payload as unknown[];
      if (
        Number.isInteger(start) &&
        Number.isInteger(end) &&
        (start as number) >= 0 &&
        (start as number) <= (end as number) &&
        (end as number) <= length
      ) {
        return { start: start as number, end: end as number };
      }
    }
    throw new Error("invalid sub-call arguments");
  }

  /** The isolate reports that cell `gen` settled (its output is ready to collect). */
  readonly #handleDone = (gen: unknown): void => {
    const waiter = this.#doneWaiter;
    if (waiter && waiter.gen === gen) waiter.resolve();
  };

  // ---- cells ----

  async #runCell(cell: CellInput): Promise<CellResult> {
    const started = performance.now();
    const result = (fields: Partial<CellResult>): CellResult => ({
      output: "",
      durationMs: performance.now() - started,
      subCalls: 0,
      sandboxLost: false,
      ...fields,
    });
    if (this.disposed || !this.#control) {
      return result({
        error: `SandboxLost: ${this.#goneReason()}; rebuild the sandbox`,
        sandboxLost: true,
      });
    }
    let source: string;
    try {
      source = rewriteCell(cell.code).source;
    } catch (error) {
      const text =
        error instanceof CellSyntaxError ? error.toCellError() : `SyntaxError: ${messageOf(error)}`;
      return result({ error: text });
    }

    const gen = ++this.#generation;
    this.#activeGen = gen;
    this.#cellSubCalls = 0;
    this.#notes = [];
    this.#droppedNotes = 0;
    const done = new Promise<"done">((resolve) => {
      this.#doneWaiter = { gen, resolve: () => resolve("done") };
    });
    const seed = deriveCellSeed(this.#seed, cell.cellKey, this.#clockStartMs);
    const watchdog = watchCell({
      isolate: this.#isolate,
      wallMs: this.#limits.cellTimeoutMs,
      cpuMs: this.#limits.cellCpuMs,
      syncGraceMs: Math.max(250, this.#limits.cellCpuMs / 2),
      pollMs: this.#pollMs,
      ...(cell.signal === undefined ? {} : { signal: cell.signal }),
    });
    this.#watchdog = watchdog;
    try {
      const settled = await this.#settle(gen, source, seed, watchdog, done);
      if (settled.kind === "lost") {
        return result({
          output: settled.output,
          error: settled.error,
          subCalls: this.#cellSubCalls,
          sandboxLost: true,
        });
      }
      const snapshot = settled.snapshot;
      return result({
        output: this.#withNotes(snapshot.output),
        ...(settled.error !== undefined
          ? { error: settled.error }
          : snapshot.error !== undefined
            ? { error: snapshot.error }
            : {}),
        ...(snapshot.final ? { final: snapshot.final } : {}),
        subCalls: this.#cellSubCalls,
        ...(snapshot.pendingSubCalls > 0 ? { unawaitedSubCalls: snapshot.pendingSubCalls } : {}),
      });
    } catch (error) {
      // Not expected: every path above resolves. Keep the promise contract anyway.
      return result({
        error: `Error: the sandbox failed: ${describeHostError(error)}`,
        subCalls: this.#cellSubCalls,
      });
    } finally {
      watchdog.stop();
      this.#watchdog = undefined;
      this.#activeGen = 0;
      this.#doneWaiter = undefined;
    }
  }

  /** Runs the cell to its end, or to a breach that costs the isolate. */
  async #settle(
    gen: number,
    source: string,
    seed: ReturnType<typeof deriveCellSeed>,
    watchdog: CellWatchdog,
    done: Promise<"done">,
  ): Promise<
    | { kind: "finished"; snapshot: CellSnapshot; error?: string }
    | { kind: "lost"; error: string; output: string }
  > {
    const control = this.#control!;
    const breach = watchdog.breach.then((reason) => ({ breach: reason }));
    // The synchronous part runs under isolated-vm's `timeout`: a runaway loop there is
    // stopped and the isolate survives.
    const run = outcome(
      control.apply(
        undefined,
        [
          "run",
          gen,
          `${source}\n//# sourceURL=${CELL_FILE_PREFIX}${gen}`,
          ...seed.words,
          seed.clockBase,
        ],
        { arguments: { copy: true }, timeout: this.#limits.cellCpuMs },
      ),
    );
    const first = await Promise.race([run, breach]);
    if ("breach" in first) return this.#lose(first.breach, gen);
    if (!first.ok) {
      if (this.#isolate.isDisposed) return this.#lose("isolate-gone", gen);
      if (isIvmTimeout(first.error)) {
        const snapshot = await this.#collectOrBreach(gen, breach);
        if (snapshot && "breach" in snapshot) return this.#lose(snapshot.breach, gen);
        // Stopped inside its synchronous part: nothing of the cell is left running.
        if (snapshot && !snapshot.launched) {
          return {
            kind: "finished",
            snapshot,
            error: `Timeout: cell exceeded ${this.#limits.cellCpuMs} ms of CPU`,
          };
        }
        // Stopped in a microtask after an await: what is still pending is unknown.
        return this.#lose("cpu", gen);
      }
      // A promise the model's code rejected without a handler surfaces on whatever call
      // runs next in the isolate; the cell itself is running normally.
      this.#note(first.error);
    }
    // Only now: a cell stopped by the timeout has used its whole CPU budget, and reading
    // its output (above) must not count as a breach.
    watchdog.syncPartDone();
    const end = await Promise.race([done, breach]);
    if (end !== "done") return this.#lose(end.breach, gen);
    this.#activeGen = 0;
    const snapshot = await this.#collectOrBreach(gen, breach);
    if (snapshot && "breach" in snapshot) return this.#lose(snapshot.breach, gen);
    if (!snapshot) return this.#lose("isolate-gone", gen);
    return { kind: "finished", snapshot };
  }

  async #collectOrBreach(
    gen: number,
    breach: Promise<{ breach: CellBreach }>,
  ): Promise<CellSnapshot | { breach: CellBreach } | undefined> {
    return Promise.race([this.#collect(gen), breach]);
  }

  /** Reads the cell's output and final answer; undefined when the isolate is gone. */
  async #collect(gen: number): Promise<CellSnapshot | undefined> {
    // Each failed call drains the isolate's list of unhandled rejections, so a retry
    // gets through unless the isolate is gone.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.#isolate.isDisposed || !this.#control) return undefined;
      try {
        const raw: unknown = await this.#control.apply(undefined, ["collect", gen], {
          arguments: { copy: true },
          result: { copy: true },
          timeout: this.#limits.cellCpuMs,
        });
        return parseCellSnapshot(raw);
      } catch (error) {
        if (this.#isolate.isDisposed) return undefined;
        this.#note(error);
      }
    }
    return undefined;
  }

  /** Discards the isolate after a breach, salvaging the output when it is idle. */
  async #lose(
    reason: CellBreach,
    gen: number,
  ): Promise<{ kind: "lost"; error: string; output: string }> {
    let output = "";
    if ((reason === "wall" || reason === "cancelled") && !this.#isolate.isDisposed) {
      // Usually the cell is awaiting something that never came: the isolate is idle and
      // can still say what was printed.
      const snapshot = await Promise.race([
        this.#collect(gen),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SALVAGE_MS)),
      ]);
      if (snapshot) output = this.#withNotes(snapshot.output);
    }
    const error = this.#breachText(reason);
    this.#lostReason ??= error;
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
    return { kind: "lost", error, output };
  }

  #breachText(reason: CellBreach): string {
    switch (reason) {
      case "wall":
        return `Timeout: cell exceeded the wall-clock limit of ${this.#limits.cellTimeoutMs} ms (time awaiting sub-calls not counted); the sandbox was discarded`;
      case "cpu":
        return `Timeout: cell exceeded ${this.#limits.cellCpuMs} ms of CPU; the sandbox was discarded`;
      case "cancelled":
        return "Cancelled: the analysis was stopped (cancelled, or a budget or its deadline ran out) while the cell ran; the sandbox was discarded";
      case "isolate-gone":
        return this.#disposedByOwner
          ? "SandboxLost: the sandbox was disposed while the cell ran"
          : `MemoryLimitError: the cell exceeded the sandbox memory limit of ${this.#limits.memoryMb} MB; the sandbox was discarded`;
    }
  }

  #goneReason(): string {
    if (this.#lostReason !== undefined) return `the sandbox is gone (${this.#lostReason})`;
    return `the sandbox is gone (it exceeded its memory limit of ${this.#limits.memoryMb} MB)`;
  }

  async #read(name: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.disposed || !this.#control) {
        throw new SandboxError("sandbox_disposed", `cannot read ${name}: ${this.#goneReason()}`, {
          retryable: true,
        });
      }
      try {
        const value: unknown = await this.#control.apply(undefined, ["read", name], {
          arguments: { copy: true },
          result: { copy: true },
          timeout: this.#limits.cellCpuMs,
        });
        return typeof value === "string" ? value : undefined;
      } catch (error) {
        if (this.#isolate.isDisposed) continue;
        if (isIvmTimeout(error)) {
          throw new SandboxError("read_variable_failed", `reading ${name} timed out`, {
            cause: error,
          });
        }
        // Either the value's getter threw or an old unhandled rejection surfaced here;
        // the retry tells them apart.
        if (attempt === 2) {
          throw new SandboxError(
            "read_variable_failed",
            `reading ${name} failed: ${describeHostError(error)}`,
            {
              cause: error,
            },
          );
        }
      }
    }
    throw new SandboxError("read_variable_failed", `reading ${name} failed`);
  }

  // ---- unhandled rejections from the model's code, shown after the output ----

  #note(error: unknown): void {
    if (this.#notes.length >= MAX_NOTES) {
      this.#droppedNotes += 1;
      return;
    }
    this.#notes.push(`Uncaught (in promise) ${clip(describeHostError(error), NOTE_CHARS)}`);
  }

  #withNotes(output: string): string {
    if (this.#notes.length === 0) return output;
    const lines = [...this.#notes];
    if (this.#droppedNotes > 0)
      lines.push(`... and ${this.#droppedNotes} more unhandled rejections`);
    return output === "" ? lines.join("\n") : `${output}\n${lines.join("\n")}`;
  }
}

/** The schema a sub-call asked for (JSON text from the isolate, "" without one), checked. */
function schemaOf(schemaJson: unknown): JsonObject | undefined {
  if (schemaJson === "" || schemaJson === undefined) return undefined;
  if (typeof schemaJson !== "string") throw new Error("invalid sub-call arguments");
  const schema: unknown = JSON.parse(schemaJson);
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new Error("the schema must be a JSON Schema object");
  }
  return schema as JsonObject;
}
