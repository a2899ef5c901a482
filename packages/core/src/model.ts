import type { ConcurrencyGate } from "./concurrency-gate.js";

/** One chat message in the OpenAI sense. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
  /**
   * The same text as `content`, in pieces whose concatenation is `content` (a prompt
   * around a large chunk of the document, say). A client may send these one after
   * another instead of `content`.
   *
   * Why: `content` built by concatenation is a rope that the first full read (the JSON
   * encoding of the request) flattens into a copy of the whole chunk, held as long as the
   * message lives. With the pieces, a 10 MB chunk that is a slice of the document is
   * never copied whole; only small escaped windows of it exist while it is sent.
   */
  contentParts?: readonly string[];
}

/** Tokens and money spent by one or more model calls. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens the provider served from its prompt cache (0 when not reported). */
  cachedInputTokens: number;
  /** Cost in US dollars, or null when the model has no known price. */
  costUsd: number | null;
}

/**
 * OpenAI's `response_format` of type `json_schema` (Structured Outputs): the provider is
 * asked to answer with JSON that follows `json_schema.schema`. Same field names as the
 * wire format, so a client passes it through as is.
 */
export interface JsonSchemaResponseFormat {
  type: "json_schema";
  json_schema: {
    /** a-z, A-Z, 0-9, `_` and `-`, at most 64 characters (OpenAI's rule). */
    name: string;
    /** A JSON Schema object. */
    schema: Record<string, unknown>;
    /** True: the provider enforces the schema exactly (a subset of JSON Schema allowed). */
    strict?: boolean;
    description?: string;
  };
}

/** The response formats a request may ask for (so far: a JSON Schema). */
export type ResponseFormat = JsonSchemaResponseFormat;

/** Text of a streamed answer as it arrives (see {@link ModelRequest.onDelta}). */
export interface ModelDelta {
  /** The text that just arrived. */
  text: string;
  /** Characters of the answer received so far, this piece included. */
  receivedChars: number;
}

/** A request for one chat completion. */
export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  /** Upper bound on generated tokens, when the caller wants one. */
  maxOutputTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  /**
   * The analysis the call is made for (a nested analysis's id is its parent's, `/`, and
   * its call's key). For logs and traces only: a client never sends it to the provider.
   */
  analysisId?: string;
  /**
   * A slot the call must hold while it talks to the provider: acquired by the transport
   * just before the request is written, released once the response body has been
   * received (and on any failure), once per attempt. Only clients whose
   * {@link ModelClient.honoursGate} is true look at it. Acquiring may reject (the call
   * was cancelled, a budget ran out while it waited); the client then fails with that
   * error as is, without retrying. Time spent waiting for the slot does not count
   * against the client's per-attempt timeout.
   */
  gate?: ConcurrencyGate;
  /**
   * Asks for JSON that follows a schema. A client passes it to the provider; a provider
   * that refuses it fails the call with code `unsupported_response_format` (not
   * retryable), so the caller can ask again without it and validate the text itself.
   */
  responseFormat?: JsonSchemaResponseFormat;
  /**
   * Called as the answer arrives, for progress: a client that streams (`@rlm/llm` does
   * when this is set) calls it once per piece of text, in order; one that does not
   * never calls it. The response is the same either way. An exception thrown here fails
   * the call.
   */
  onDelta?: (delta: ModelDelta) => void;
  /**
   * Called once, when the request has started going out (its body's first bytes are
   * written to the connection), by a client whose {@link ModelClient.reportsSent} is true;
   * others never call it. An exception thrown here is ignored.
   */
  onSent?: () => void;
}

/** The answer to one chat completion. */
export interface ModelResponse {
  /** The assistant message text (never empty: an empty completion is an error). */
  content: string;
  /** The model that answered, as the provider reported it (or as requested). */
  model: string;
  usage: TokenUsage;
  /** Wall time of the call including retries. */
  durationMs: number;
  /** Attempts made, when the client counts them (1 unless it retried). */
  attempts?: number;
}

/**
 * What the engine needs from a model provider. `@rlm/llm` implements it over the openai
 * package; tests and other runtimes may provide their own. Implementations throw
 * `RlmError`s with a `code` and `retryable` flag.
 */
export interface ModelClient {
  complete(request: ModelRequest): Promise<ModelResponse>;
  /**
   * True when `complete` honours {@link ModelRequest.gate}. Callers then let more calls
   * into `complete` than may be in flight, so requests are built while others are on the
   * wire; without it they hold their own slot around the whole call.
   */
  readonly honoursGate?: boolean;
  /**
   * True when `complete` calls {@link ModelRequest.onSent} once the request is written.
   * The engine builds an analysis's first sandbox while its first root turn is out, and
   * starts only once the request has left: building blocks the thread a few ms (longer
   * for a large document), and started earlier it held the request back. Without it the
   * engine starts right after calling `complete`, a turn of the event loop later.
   */
  readonly reportsSent?: boolean;
}
