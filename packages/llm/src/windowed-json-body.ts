import type { ChatMessage } from "@rlm/core";

/** A piece of JSON text as is, or a string to be written as the inside of a JSON string. */
type Segment = { json: string } | { raw: string };

/**
 * Characters escaped and written at a time. A window is copied once when escaped, so this
 * bounds the memory a large string costs while it is sent (a few MB at most), whatever
 * its size.
 */
const WINDOW_CHARS = 32 * 1024;

/**
 * Prompts at least this long (all messages together) are sent as a {@link WindowedJsonBody};
 * shorter ones go through the SDK's own `JSON.stringify`, whose copies are small.
 */
export const WINDOWED_BODY_MIN_CHARS = 64 * 1024;

/**
 * A request body of JSON text produced piece by piece, so that a large string inside it
 * (a chunk of the document in a sub-call prompt) is never copied whole: it is escaped and
 * encoded one window at a time, and its bytes are never all in memory at once.
 *
 * Why: `JSON.stringify` of the request flattens the prompt (a rope around the chunk) into
 * one copy, makes a second for the JSON text, and the transport a third when it encodes
 * that for the socket. Ten calls over 10 MB chunks in flight held about 300 MB that way.
 *
 * The model client hands {@link WindowedJsonBody.bytes} to the openai SDK as the request's
 * `body` option (an iterator, which the SDK sends as a stream) with a `Content-Length` of
 * {@link WindowedJsonBody.byteLength}; undici pulls the next window as the socket drains.
 * The pieces can be produced again for each attempt.
 */
export class WindowedJsonBody {
  /** The UTF-8 length of the whole JSON text. */
  readonly byteLength: number;
  readonly #segments: readonly Segment[];

  private constructor(segments: readonly Segment[]) {
    this.#segments = segments;
    this.byteLength = byteLengthOf(segments);
  }

  /** The JSON text in pieces of at most a few MB, in order (a fresh pass each call). */
  pieces(): IterableIterator<string> {
    return piecesOf(this.#segments);
  }

  /** {@link WindowedJsonBody.pieces} as UTF-8 bytes, which is what a request stream carries. */
  *bytes(): Generator<Uint8Array, void, undefined> {
    for (const piece of this.pieces()) yield Buffer.from(piece, "utf8");
  }

  /**
   * The body of a chat completion request: `fields` (model, limits; small values) and
   * the messages, each message's text written from its `contentParts` when it has them.
   */
  static chatCompletion(
    fields: Record<string, unknown>,
    messages: readonly ChatMessage[],
  ): WindowedJsonBody {
    const segments: Segment[] = [{ json: "{" }];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      segments.push({ json: `${JSON.stringify(name)}:${JSON.stringify(value)},` });
    }
    segments.push({ json: '"messages":[' });
    messages.forEach((message, index) => {
      segments.push({
        json: `${index === 0 ? "" : ","}{"role":${JSON.stringify(message.role)},"content":"`,
      });
      for (const part of message.contentParts ?? [message.content]) {
        // Small parts are escaped once, here; large ones window by window when sent.
        segments.push(part.length <= WINDOW_CHARS ? { json: escapeInside(part) } : { raw: part });
      }
      segments.push({ json: '"}' });
    });
    segments.push({ json: "]}" });
    return new WindowedJsonBody(segments);
  }
}

/** True when the messages are long enough to be worth a {@link WindowedJsonBody}. */
export function wantsWindowedBody(messages: readonly ChatMessage[]): boolean {
  let chars = 0;
  for (const message of messages) chars += message.content.length;
  return chars >= WINDOWED_BODY_MIN_CHARS;
}

function* piecesOf(segments: readonly Segment[]): IterableIterator<string> {
  for (const segment of segments) {
    if ("json" in segment) yield segment.json;
    else yield* escapedWindows(segment.raw);
  }
}

function byteLengthOf(segments: readonly Segment[]): number {
  let bytes = 0;
  for (const segment of segments) {
    if ("json" in segment) bytes += Buffer.byteLength(segment.json, "utf8");
    // Escaped once here to be measured, and again when sent: CPU, not memory.
    else
      for (const window of escapedWindows(segment.raw)) bytes += Buffer.byteLength(window, "utf8");
  }
  return bytes;
}

/** `text` escaped for the inside of a JSON string, one window at a time. */
function* escapedWindows(text: string): IterableIterator<string> {
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + WINDOW_CHARS, text.length);
    // Never split a surrogate pair: each half alone would be escaped as \uXXXX.
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
    // A substring of a flat string shares its memory; only the escaped window is new.
    yield escapeInside(text.slice(start, end));
    start = end;
  }
}

/** The JSON string literal of `text` without its quotes. */
function escapeInside(text: string): string {
  const literal = JSON.stringify(text);
  return literal.slice(1, -1);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
