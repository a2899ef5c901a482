import type { Dispatcher } from "undici";
import { normalizeErrorBody } from "./normalize-error-body.js";
import { readResponse } from "./read-response.js";

/** Statuses whose response has no body (a `Response` with one cannot be built). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** What the handler's {@link FetchHandler} is told to do once the answer has arrived. */
export interface AnswerHooks {
  onAnswered?(): void;
  onSent?(): void;
}

/**
 * The handler of one request dispatched by `undiciFetch` (undici's `DispatchHandlers`):
 * it settles `resolve` / `reject` the way `fetch` would. An event stream's `Response` is
 * made when its headers arrive, its body a `ReadableStream` fed as data comes (undici is
 * paused while the stream is full); any other answer is collected whole and handed over
 * as a `ReadResponse` once complete. An abort of `signal` rejects with its reason, or
 * errors the stream, and stops the exchange.
 */
export class FetchHandler implements Dispatcher.DispatchHandlers {
  #abort: ((error?: Error) => void) | undefined;
  #status = 0;
  #headers: Array<[string, string]> = [];
  #chunks: Buffer[] = [];
  #stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** False once the stream was closed, errored or cancelled: nothing more goes in. */
  #streamOpen = false;
  #resume: (() => void) | undefined;
  #paused = false;
  #settled = false;
  #sentTold = false;

  constructor(
    private readonly resolve: (response: Response) => void,
    private readonly reject: (error: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly hooks: AnswerHooks | undefined,
  ) {
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.signal?.aborted) abort(this.signal.reason as Error);
  }

  /** undici calls it as the body goes out: once per piece of a streamed body. */
  onBodySent(): void {
    if (this.#sentTold || !this.hooks?.onSent) return;
    this.#sentTold = true;
    try {
      this.hooks.onSent();
    } catch {
      // The caller's business; undici would abort the request over it.
    }
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // Informational answers (1xx) come before the real one.
    if (status < 200) return true;
    this.#status = status;
    let eventStream = false;
    for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
      const name = rawHeaders[index]!.toString("latin1").toLowerCase();
      const value = rawHeaders[index + 1]!.toString("latin1");
      this.#headers.push([name, value]);
      if (name === "content-type" && value.startsWith("text/event-stream")) eventStream = true;
    }
    if (eventStream && !NULL_BODY_STATUSES.has(status)) {
      this.#resume = resume;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#stream = controller;
          this.#streamOpen = true;
        },
        pull: () => {
          if (!this.#paused) return;
          this.#paused = false;
          this.#resume?.();
        },
        cancel: (reason: unknown) => {
          this.#streamOpen = false;
          this.#finish();
          this.#abort?.(reason instanceof Error ? reason : undefined);
        },
      });
      this.#settle(() => this.resolve(new Response(body, this.#init())));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.#stream) {
      this.#chunks.push(chunk);
      return true;
    }
    if (!this.#streamOpen) return true;
    this.#stream.enqueue(chunk);
    // Paused until the reader asks for more (undici then stops reading the socket).
    this.#paused = (this.#stream.desiredSize ?? 0) <= 0;
    return !this.#paused;
  }

  onComplete(): void {
    this.#finish();
    if (this.#stream) {
      if (this.#streamOpen) this.#stream.close();
      this.#streamOpen = false;
      return;
    }
    if (NULL_BODY_STATUSES.has(this.#status)) {
      this.#settle(() => this.resolve(new Response(null, this.#init())));
      return;
    }
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.hooks?.onAnswered?.();
    this.#settle(() => this.resolve(this.#whole(bytes)));
  }

  onError(error: Error): void {
    this.#finish();
    // An abort rejects with the signal's reason, as fetch does.
    const reason = this.signal?.aborted ? (this.signal.reason as unknown) : error;
    if (this.#stream) {
      if (this.#streamOpen) this.#stream.error(reason);
      this.#streamOpen = false;
    } else {
      this.#settle(() => this.reject(reason));
    }
  }

  /** A non-stream answer as a `Response`; an error body in OpenAI's shape (see below). */
  #whole(bytes: Buffer): Response {
    if (this.#status >= 200 && this.#status < 300) return readResponse(bytes, this.#init());
    // A compatible server's message at the top level, rewritten so the SDK's error has it.
    const normalized = normalizeErrorBody(bytes.toString("utf8"));
    return readResponse(normalized === undefined ? bytes : Buffer.from(normalized), this.#init());
  }

  #init(): ResponseInit {
    return { status: this.#status, headers: this.#headers };
  }

  #settle(settle: () => void): void {
    if (this.#settled) return;
    this.#settled = true;
    settle();
  }

  #finish(): void {
    this.signal?.removeEventListener("abort", this.#onAbort);
  }

  readonly #onAbort = () => {
    const reason = this.signal?.reason as unknown;
    this.#abort?.(reason instanceof Error ? reason : undefined);
    // Not connected yet, or undici reports the abort later: settle now all the same.
    this.onError(reason instanceof Error ? reason : new Error(String(reason)));
  };
}
