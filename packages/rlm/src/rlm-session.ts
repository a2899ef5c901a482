import { randomUUID } from "node:crypto";
import {
  AnalysisMachine,
  type EngineOptions,
  type LiveSandbox,
  MemoryJournal,
  type ModelClient,
  type RlmContext,
  type RlmResult,
  type SandboxDocument,
  type SandboxFactory,
  type SessionQuestion,
  schemaValidator,
  validateAnalysisInput,
} from "@rlm/core";
import type { CompletionOptions } from "./rlm.js";

/** What a session runs on: the `Rlm`'s resolved options and services. */
export interface SessionServices {
  options: EngineOptions;
  model: ModelClient;
  sandboxFactory: SandboxFactory;
}

/** Per-question settings of a session (a subset of `completion`'s). */
export type SessionCompletionOptions = Pick<
  CompletionOptions,
  "signal" | "onEvent" | "outputSchema"
>;

/**
 * Questions over one context that share a REPL: each question starts from the variables
 * the earlier ones defined, and `history` holds their queries and answers. The document
 * is loaded once. Questions run one at a time, in the order they are asked.
 *
 * ```ts
 * const session = rlm.session(contractText);
 * await session.completion("List the parties.");
 * await session.completion("Which of those parties can terminate early?");
 * session.close();
 * ```
 */
export class RlmSession {
  readonly id: string;
  readonly #services: SessionServices;
  readonly #context: RlmContext;
  readonly #questions: SessionQuestion[] = [];
  #document: Promise<SandboxDocument> | undefined;
  #live: LiveSandbox | undefined;
  #variables: string[] = [];
  /** The questions asked so far, chained: each waits for the one before. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(services: SessionServices, context: RlmContext, id = randomUUID()) {
    this.#services = services;
    this.#context = context;
    this.id = id;
  }

  /** The questions answered so far, oldest first. */
  get history(): Array<{ query: string; answer: string }> {
    return this.#questions.map(({ query, answer }) => ({ query, answer }));
  }

  /** Asks `query` in the session; resolves with its result (as `Rlm.completion` does). */
  completion(query: string, call: SessionCompletionOptions = {}): Promise<RlmResult> {
    validateAnalysisInput(query, this.#context);
    if (call.outputSchema !== undefined) schemaValidator(call.outputSchema);
    if (this.#closed) return Promise.reject(new Error("the session is closed"));
    const asked = this.#queue.then(() => this.#ask(query, call));
    this.#queue = asked.catch(() => undefined);
    return asked;
  }

  /** Releases the REPL and the document. Questions still queued fail. */
  close(): void {
    this.#closed = true;
    this.#live?.sandbox.dispose();
    this.#live = undefined;
    void this.#document?.then(
      (document) => document.release(),
      () => undefined,
    );
  }

  async #ask(query: string, call: SessionCompletionOptions): Promise<RlmResult> {
    if (this.#closed) throw new Error("the session is closed");
    const { options, model, sandboxFactory } = this.#services;
    this.#document ??= sandboxFactory.loadDocument(this.#context);
    const document = await this.#document;
    const position = this.#questions.length;
    const live = this.#live;
    this.#live = undefined;
    const machine = new AnalysisMachine({
      analysisId: `${this.id}/q${position}`,
      query,
      context: this.#context,
      document,
      clockStartMs: Date.now(),
      options: {
        ...options,
        signal: call.signal ?? options.signal,
        onEvent: call.onEvent ?? options.onEvent,
        outputSchema: call.outputSchema ?? options.outputSchema,
      },
      runtime: { model, sandboxFactory, journal: new MemoryJournal() },
      session: {
        seed: this.id,
        position,
        earlier: [...this.#questions],
        variables: this.#variables,
        ...(live ? { live } : {}),
      },
    });
    try {
      const result = await machine.run();
      const question = machine.sessionQuestion();
      if (question) this.#questions.push(question);
      this.#live = machine.handOverSandbox();
      this.#variables = this.#live ? await this.#live.sandbox.variableNames() : this.#variables;
      return result;
    } finally {
      machine.dispose();
    }
  }
}
