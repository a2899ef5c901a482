import type { JsonObject, JsonValue, RlmContext } from "./context.js";

/** A `recursiveLm(query, subContext)` call made by code in the sandbox. */
export interface SubCallRequest {
  query: string;
  /** The sub-context as given (copied out of the sandbox); undefined when omitted. */
  context: JsonValue | undefined;
  /** 0-based position of this call among the calls of its cell, in call order. */
  index: number;
  /**
   * A JSON Schema the answer must match (`recursiveLm(query, subContext, { schema })`):
   * the handler then resolves with the JSON text of a matching value, which the sandbox
   * parses for the code.
   */
  schema?: JsonObject;
  /**
   * Set when the sub-context is the document's text `[start, end)` (UTF-16 offsets):
   * `context` is then a substring of the host's copy of the document, not a copy out of
   * the sandbox, and an executor can send the range instead of the text.
   */
  documentRange?: DocumentRange;
}

/** A range of the document's text, in UTF-16 code units: `[start, end)`. */
export interface DocumentRange {
  start: number;
  end: number;
}

/**
 * Answers a sub-call. Resolves with the answer text; rejects with an Error whose
 * message the sandboxed code sees as a thrown Error it can catch.
 */
export type SubCallHandler = (request: SubCallRequest) => Promise<string>;

/** Per-cell and per-isolate limits. */
export interface SandboxLimits {
  /**
   * Wall-clock limit for one cell, to stop runaway code. Time while one of the cell's
   * sub-calls is pending does not count: a sequential loop of slow sub-calls is waiting,
   * not running away (the CPU limit and the analysis's deadline still apply).
   */
  cellTimeoutMs: number;
  /** CPU-time limit for one cell. */
  cellCpuMs: number;
  /** Isolate heap limit in MiB. */
  memoryMb: number;
  /** Printed output longer than this is truncated, with a notice. */
  outputChars: number;
  /** Largest answer `FINAL` / `FINAL_VAR` take, in characters; past it the cell fails. */
  answerChars: number;
  /** Most sub-calls one cell may have pending at once; past it `recursiveLm` throws. */
  maxPendingSubCalls: number;
  /** Largest query plus sub-context of one sub-call, in characters; past it `recursiveLm` throws. */
  subCallChars: number;
}

/** A document loaded once per analysis (per process) and copied into each isolate. */
export interface SandboxDocument {
  /** Releases the host-side copy. Sandboxes created from it must be disposed first. */
  release(): void;
}

export interface SandboxOptions {
  document: SandboxDocument;
  /** Seed for the deterministic `Date` and `Math.random` (e.g. the analysis id). */
  seed: string;
  /**
   * Where `Date` starts in every cell (epoch ms), e.g. when the analysis began; the same
   * value in every run of the analysis. Default: an instant of 2024 derived from `seed`.
   */
  clockStartMs?: number;
  limits: SandboxLimits;
  onSubCall: SubCallHandler;
}

/** One code cell to run. */
export interface CellInput {
  code: string;
  /**
   * Stable identity of the cell within the analysis (e.g. `"3.1"` for iteration 3,
   * block 1). `Date` and `Math.random` are reseeded from (seed, cellKey) at cell start,
   * so a cell replays identically whatever ran before it.
   */
  cellKey: string;
  /**
   * Aborting it stops the cell at once (the analysis was cancelled or its deadline
   * passed): the isolate is discarded, like on a wall-clock breach.
   */
  signal?: AbortSignal;
}

/** What running a cell produced. */
export interface CellResult {
  /** Captured `print`/`console.log` output, truncated with a notice past the limit. */
  output: string;
  /** The error as the model should see it (message, no host stack), if the cell failed. */
  error?: string;
  /** Set when the cell called `FINAL(answer)` or `FINAL_VAR(name)`. */
  final?: { answer: string; via: "FINAL" | "FINAL_VAR" };
  durationMs: number;
  /** Number of `recursiveLm` calls the cell made. */
  subCalls: number;
  /**
   * Sub-calls the cell started and never saw answered: still pending when it ended (a
   * forgotten `await`). They run to their end anyway (and are paid for).
   */
  unawaitedSubCalls?: number;
  /**
   * True when the isolate had to be disposed (memory limit, wall-clock breach after an
   * await). The sandbox is unusable afterwards; the caller rebuilds one by replay.
   */
  sandboxLost: boolean;
}

/**
 * A persistent JavaScript REPL. Top-level declarations persist across cells; the
 * document is the global `context`.
 */
export interface Sandbox {
  execute(cell: CellInput): Promise<CellResult>;
  /** The value of a global as the answer text (strings as-is, others as JSON), or undefined. */
  readVariable(name: string): Promise<string | undefined>;
  /** The names of the variables the model's code defined (globals that are not built in). */
  variableNames(): Promise<string[]>;
  /** Resolves once the isolate has finished the JavaScript it is running right now. */
  idle(): Promise<void>;
  readonly disposed: boolean;
  dispose(): void;
}

/** Creates sandboxes; the sandbox-behind-an-interface seam of the engine. */
export interface SandboxFactory {
  loadDocument(context: RlmContext): Promise<SandboxDocument>;
  /**
   * Loads a string document from its UTF-8 bytes, taking them over (the factory may free
   * or detach them). Optional: a caller holding bytes decodes them for `loadDocument`
   * when a factory lacks it. Why: a factory can keep fewer copies of a large document
   * resident while it loads than a decoded string plus its own copy.
   */
  loadDocumentFromUtf8?(bytes: Buffer): Promise<SandboxDocument>;
  create(options: SandboxOptions): Promise<Sandbox>;
}
