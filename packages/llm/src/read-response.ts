/** Decodes answers read whole; one for the process. */
const decoder = new TextDecoder();

/**
 * `Response` as a base class. TypeScript's types declare its body members as properties,
 * which a subclass may not redefine as methods or accessors; at runtime they are
 * prototype methods and accessors like any other.
 */
const BaseResponse = Response as unknown as new (
  body: null,
  init: ResponseInit,
) => Pick<Response, "headers" | "status" | "statusText" | "ok" | "url" | "type" | "redirected">;

/**
 * A `Response` (a subclass, `instanceof Response`) whose body has already been read
 * into memory: `json()` and `text()`
 * decode those bytes at once, and a `body` stream is made only if something asks for it.
 *
 * Why: a `Response` made from bytes wraps them in a web `ReadableStream` at once and reads
 * them back through it (`fullyReadBody`), which took ~50–80 µs of CPU per answer in a
 * profile of a 50-call wave here (stream objects, transferable marking, garbage), on the
 * path every chat completion takes; JSON.parse of the answer takes a few µs.
 */
class ReadResponse extends BaseResponse {
  readonly #bytes: Uint8Array;
  #used = false;
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(bytes: Uint8Array, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  get body(): ReadableStream<Uint8Array> {
    this.#stream ??= new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#used = true;
        controller.enqueue(this.#bytes);
        controller.close();
      },
    });
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async text(): Promise<string> {
    return decoder.decode(this.#take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(decoder.decode(this.#take()));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async blob(): Promise<Blob> {
    return new Blob([this.#take()], { type: this.headers.get("content-type") ?? "" });
  }

  clone(): ReadResponse {
    if (this.#used) throw new TypeError("Response.clone: body has already been consumed.");
    return new ReadResponse(this.#bytes, {
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
    });
  }

  /** The bytes, once: a body is read only once, as with any `Response`. */
  #take(): Uint8Array {
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    return this.#bytes;
  }
}

/** {@link ReadResponse} over `bytes`, typed as the `Response` it is. */
export function readResponse(bytes: Uint8Array, init: ResponseInit): Response {
  return new ReadResponse(bytes, init) as unknown as Response;
}
