import createClient, { type Client } from "openapi-fetch";
import {
  type AnalysisAccepted,
  type AnalysisCancel,
  type AnalysisContext,
  type AnalysisEvent,
  type AnalysisList,
  type AnalysisOptions,
  type AnalysisRequest,
  type AnalysisResult,
  type AnalysisStatus,
  type AnalysisSummary,
  type AnalysisView,
  isTerminalEvent,
  type SessionCreated,
  type SessionQuestionAccepted,
  type SessionView,
  TERMINAL_STATUSES,
  type Webhook,
} from "./api-types.js";
import { RlmApiError } from "./errors.js";
import { type AnalysisEventMessage, readEventStream } from "./event-stream.js";
import type { paths } from "./generated/api-types.js";
import { call, expect, settled, sinceParam } from "./responses.js";
import {
  askSession,
  createSession,
  getSession,
  type SessionRequestOptions,
  type SessionUpload,
  uploadSession,
} from "./session-calls.js";
import { abortError, sleep, waitSignal } from "./wait-signal.js";

/** Options of `RlmClient`. */
export interface RlmClientOptions {
  /** The API's base URL, e.g. `http://localhost:3000` (no `/v1`). */
  baseUrl: string;
  /** The API token (`RLM_API_TOKEN` of the server). */
  token: string;
  /** A fetch to use instead of the global one (tests, proxies, custom agents). */
  fetch?: typeof globalThis.fetch;
}

/** A document uploaded as a multipart file rather than inside a JSON body. */
export interface AnalysisUpload {
  query: string;
  /** The document: a Blob (e.g. from `fs.openAsBlob`) or text. */
  document: Blob | string;
  /** File name of the part; `*.json` makes the server parse the document as JSON. */
  filename?: string;
  options?: AnalysisOptions;
  idempotencyKey?: string;
  /** POST the analysis's end here, signed (the server needs RLM_WEBHOOK_SECRET). */
  webhook?: Webhook;
}

/** How `waitForResult` and `analyze` wait. */
export interface WaitOptions {
  /** Give up after this long (the analysis goes on: cancel it to stop it). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each event as it arrives (`wait: "events"` only). */
  onEvent?: (event: AnalysisEvent) => void;
  /** Follow the event stream (default), or poll `GET /v1/analyses/:id`. */
  wait?: "events" | "poll";
  /** Between polls, and before reconnecting a dropped stream. Default 1 s. */
  intervalMs?: number;
}

/** Options of `analyze`: the request's and the wait's. */
export interface AnalyzeOptions extends WaitOptions {
  options?: AnalysisOptions;
  idempotencyKey?: string;
  /** Also POST the analysis's end here, signed. */
  webhook?: Webhook;
}

/** What `listAnalyses` asks for (`GET /v1/analyses`). */
export interface ListAnalysesQuery {
  /** Only analyses in this status, or in any of these. */
  status?: AnalysisStatus | readonly AnalysisStatus[];
  /** Only analyses created at or after this time (a Date, ISO 8601 text, or epoch ms). */
  since?: Date | string | number;
  /** Per page, 1 to 100 (default 20). */
  limit?: number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
}

/** What `analyze` returns: the result, and the id of the analysis that made it. */
export type AnalyzeResult = AnalysisResult & { id: string };

/** Reconnections of a dropped event stream, in a row, before the wait gives up. */
const MAX_STREAM_RETRIES = 5;

/**
 * A typed client of the RLM Queue HTTP API. Its types are generated from the API's
 * OpenAPI document; `api` is the underlying openapi-fetch client for any route.
 *
 * ```ts
 * const rlm = new RlmClient({ baseUrl: "http://localhost:3000", token: process.env.RLM_API_TOKEN! });
 * const result = await rlm.analyze("How many incidents mention INC-7731?", reportText);
 * console.log(result.answer, result.usage.costUsd);
 * ```
 *
 * Every failure is an `RlmApiError` with a `code` and a `retryable` flag.
 */
export class RlmClient {
  /** The typed openapi-fetch client (`rlm.api.GET("/v1/analyses/{id}", …)`). */
  readonly api: Client<paths>;

  constructor(options: RlmClientOptions) {
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      headers: { authorization: `Bearer ${options.token}` },
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    });
  }

  /** Enqueues an analysis (`POST /v1/analyses`, JSON). */
  async createAnalysis(
    request: AnalysisRequest,
    init: { signal?: AbortSignal } = {},
  ): Promise<AnalysisAccepted> {
    return expect(
      await call(() => this.api.POST("/v1/analyses", { body: request, signal: init.signal })),
    );
  }

  /** Enqueues an analysis of a document sent as a multipart file (large documents). */
  async uploadAnalysis(
    upload: AnalysisUpload,
    init: { signal?: AbortSignal } = {},
  ): Promise<AnalysisAccepted> {
    const form = new FormData();
    form.append("query", upload.query);
    if (upload.options !== undefined) form.append("options", JSON.stringify(upload.options));
    if (upload.idempotencyKey !== undefined) form.append("idempotencyKey", upload.idempotencyKey);
    if (upload.webhook !== undefined) form.append("webhook", JSON.stringify(upload.webhook));
    const document =
      typeof upload.document === "string"
        ? new Blob([upload.document], { type: "text/plain" })
        : upload.document;
    form.append("context", document, upload.filename ?? "document.txt");
    return expect(
      await call(() =>
        this.api.POST("/v1/analyses", {
          body: { query: upload.query, context: document },
          bodySerializer: () => form,
          signal: init.signal,
        }),
      ),
    );
  }

  /** The analysis: status, progress, result or error (`GET /v1/analyses/:id`). */
  async getAnalysis(id: string, init: { signal?: AbortSignal } = {}): Promise<AnalysisView> {
    return expect(
      await call(() =>
        this.api.GET("/v1/analyses/{id}", { params: { path: { id } }, signal: init.signal }),
      ),
    );
  }

  /**
   * A page of analyses, newest first (`GET /v1/analyses`): `{ data, nextCursor? }`.
   * Pass `nextCursor` back as `cursor` for the next page; `analyses()` does it for you.
   */
  async listAnalyses(
    query: ListAnalysesQuery = {},
    init: { signal?: AbortSignal } = {},
  ): Promise<AnalysisList> {
    const { status, since, limit, cursor } = query;
    return expect(
      await call(() =>
        this.api.GET("/v1/analyses", {
          params: {
            query: {
              ...(status !== undefined ? { status: [status].flat().join(",") } : {}),
              ...(since !== undefined ? { since: sinceParam(since) } : {}),
              ...(limit !== undefined ? { limit } : {}),
              ...(cursor !== undefined ? { cursor } : {}),
            },
          },
          signal: init.signal,
        }),
      ),
    );
  }

  /** Every analysis `query` selects, newest first, page after page (see `listAnalyses`). */
  async *analyses(
    query: Omit<ListAnalysesQuery, "cursor"> = {},
    init: { signal?: AbortSignal } = {},
  ): AsyncGenerator<AnalysisSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.listAnalyses({ ...query, ...(cursor ? { cursor } : {}) }, init);
      yield* page.data;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** Cancels an analysis and its queued sub-calls (`DELETE /v1/analyses/:id`). */
  async cancelAnalysis(id: string): Promise<AnalysisCancel> {
    return expect(
      await call(() => this.api.DELETE("/v1/analyses/{id}", { params: { path: { id } } })),
    );
  }

  /**
   * The analysis's events over one connection, from the first (or after `after`), until
   * the terminal one. A dropped connection ends the iteration early or throws; resume
   * with the last message's id (`waitForResult` does).
   */
  async *events(
    id: string,
    init: { after?: string; signal?: AbortSignal } = {},
  ): AsyncGenerator<AnalysisEventMessage> {
    const { response, error } = await call(() =>
      this.api.GET("/v1/analyses/{id}/events", {
        params: {
          path: { id },
          ...(init.after !== undefined ? { header: { "last-event-id": init.after } } : {}),
        },
        parseAs: "stream",
        signal: init.signal,
      }),
    );
    if (!response.ok || response.body === null) throw RlmApiError.fromResponse(response, error);
    try {
      for await (const message of readEventStream(response.body)) {
        yield message;
        if (isTerminalEvent(message.event)) return;
      }
    } catch (cause) {
      if (init.signal?.aborted || cause instanceof RlmApiError) throw cause;
      throw RlmApiError.network(cause);
    }
  }

  /**
   * Waits until the analysis ends: its result once completed; an `RlmApiError`
   * `analysis_failed` (with the analysis's error message and `retryable`) or `cancelled`
   * otherwise, `timeout` past `timeoutMs`, `aborted` when `signal` aborts.
   */
  async waitForResult(id: string, options: WaitOptions = {}): Promise<AnalysisResult> {
    const { signal, dispose } = waitSignal(options);
    try {
      const view =
        options.wait === "poll"
          ? await this.pollUntilEnded(id, signal, options.intervalMs ?? 1_000)
          : await this.followUntilEnded(id, signal, options);
      return settled(view);
    } catch (error) {
      throw signal.aborted ? abortError(signal, id, options.timeoutMs) : error;
    } finally {
      dispose();
    }
  }

  /** Enqueues an analysis of `context` and waits for its result (see `waitForResult`). */
  async analyze(
    query: string,
    context: AnalysisContext,
    options: AnalyzeOptions = {},
  ): Promise<AnalyzeResult> {
    const request: AnalysisRequest = {
      query,
      context,
      ...(options.options !== undefined ? { options: options.options } : {}),
      ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      ...(options.webhook !== undefined ? { webhook: options.webhook } : {}),
    };
    const { id } = await this.createAnalysis(
      request,
      options.signal !== undefined ? { signal: options.signal } : {},
    );
    return { ...(await this.waitForResult(id, options)), id };
  }

  /**
   * Creates a session over `context` (`POST /v1/sessions`): the document is stored once,
   * and each question asked in it starts from the REPL the earlier ones left (their
   * variables, and `history`: their queries and answers). `options` apply to every
   * question, under its own.
   */
  async createSession(
    context: AnalysisContext,
    init: SessionRequestOptions = {},
  ): Promise<SessionCreated> {
    return createSession(this.api, context, init);
  }

  /** Creates a session over a document sent as a multipart file (large documents). */
  async uploadSession(
    upload: SessionUpload,
    init: { signal?: AbortSignal } = {},
  ): Promise<SessionCreated> {
    return uploadSession(this.api, upload, init);
  }

  /** The session: its questions, their status and answers (`GET /v1/sessions/:id`). */
  async getSession(id: string, init: { signal?: AbortSignal } = {}): Promise<SessionView> {
    return getSession(this.api, id, init);
  }

  /**
   * Asks a question in a session (`POST /v1/sessions/:id/analyses`): it is enqueued as an
   * analysis (follow it by its `id` as any other) that runs once the session's earlier
   * questions have ended.
   */
  async askSession(
    sessionId: string,
    query: string,
    init: SessionRequestOptions = {},
  ): Promise<SessionQuestionAccepted> {
    return askSession(this.api, sessionId, query, init);
  }

  /** Asks a question in a session and waits for its result (see `waitForResult`). */
  async ask(
    sessionId: string,
    query: string,
    options: AnalyzeOptions = {},
  ): Promise<AnalyzeResult> {
    const { id } = await this.askSession(sessionId, query, {
      ...(options.options !== undefined ? { options: options.options } : {}),
      ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    return { ...(await this.waitForResult(id, options)), id };
  }

  private async followUntilEnded(
    id: string,
    signal: AbortSignal,
    options: WaitOptions,
  ): Promise<AnalysisView> {
    let after: string | undefined;
    let failures = 0;
    for (;;) {
      try {
        for await (const message of this.events(id, { signal, ...(after ? { after } : {}) })) {
          after = message.id ?? after;
          failures = 0;
          options.onEvent?.(message.event);
          if (isTerminalEvent(message.event)) return await this.getAnalysis(id, { signal });
        }
      } catch (error) {
        if (signal.aborted) throw error;
        if (!(error instanceof RlmApiError) || !error.retryable) throw error;
        if (++failures > MAX_STREAM_RETRIES) throw error;
      }
      // The stream ended early (a server restart) or failed: the view says whether the
      // analysis ended meanwhile; if not, reconnect after the last event seen.
      const view = await this.getAnalysis(id, { signal }).catch((error: unknown) => {
        if (signal.aborted || !(error instanceof RlmApiError) || !error.retryable) throw error;
        return undefined;
      });
      if (view && TERMINAL_STATUSES.includes(view.status)) {
        // Ended while the stream was down: the events after the last one seen are still
        // told (the stream of an ended analysis replays them, then closes).
        if (options.onEvent) await this.replayFrom(id, after, signal, options.onEvent);
        return view;
      }
      await sleep(options.intervalMs ?? 1_000, signal);
    }
  }

  /** Tells `onEvent` the events after `after` of an ended analysis (best effort). */
  private async replayFrom(
    id: string,
    after: string | undefined,
    signal: AbortSignal,
    onEvent: (event: AnalysisEvent) => void,
  ): Promise<void> {
    try {
      for await (const message of this.events(id, { signal, ...(after ? { after } : {}) })) {
        onEvent(message.event);
      }
    } catch (error) {
      if (signal.aborted) throw error;
      // The result is known: a stream that fails again only costs the last events' news.
    }
  }

  private async pollUntilEnded(
    id: string,
    signal: AbortSignal,
    intervalMs: number,
  ): Promise<AnalysisView> {
    for (;;) {
      const view = await this.getAnalysis(id, { signal });
      if (TERMINAL_STATUSES.includes(view.status)) return view;
      await sleep(intervalMs, signal);
    }
  }
}
