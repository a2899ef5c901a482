import type { IncomingHttpHeaders } from "node:http";

/** Statuses whose responses have no body (`fetch` gives them a null body). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The read-only `Headers` surface over node:http's parsed response headers (names already
 * lower-case, repeated values joined by node, `set-cookie` kept as a list).
 *
 * Why not undici's `Headers`: filling one costs a validation and a sorted insert per
 * header, and a fan-out pays that for every sub-call on the receive path. The openai SDK
 * and this package only read headers (`get`, `has`, iteration).
 */
export class BufferedHeaders implements Iterable<[string, string]> {
  readonly #raw: IncomingHttpHeaders;

  constructor(raw: IncomingHttpHeaders) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }

  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    const value = this.#raw["set-cookie"];
    return value === undefined ? [] : [...value];
  }

  forEach(callback: (value: string, name: string, headers: this) => void): void {
    for (const [name, value] of this.#list()) callback(value, name, this);
  }

  entries(): IterableIterator<[string, string]> {
    return this.#list()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    const names = this.#list().map(([name]) => name);
    return names[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    const values = this.#list().map(([, value]) => value);
    return values[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Name and value pairs sorted by name, as `Headers` iterates. */
  #list(): Array<[string, string]> {
    const list: Array<[string, string]> = [];
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) list.push([name, value]);
    }
    return list;
  }
}

/**
 * A `Response` whose body has already been read whole into a Buffer: the part of the
 * `Response` interface a non-streaming client uses (status, headers, `json`, `text`,
 * `arrayBuffer`, and `body` as a stream made on demand).
 *
 * Why not `new Response(buffer)`: undici's constructor sets up a web stream, and
 * `json()` reads it back chunk by chunk through that stream; measured here, that was the
 * largest single cost on the receive path of a sub-call.
 */
export class BufferedResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: BufferedHeaders;
  readonly url: string;
  readonly redirected = false;
  readonly type = "basic";
  #bytes: Buffer | null;
  #used = false;

  constructor(
    url: string,
    status: number,
    statusText: string,
    headers: IncomingHttpHeaders,
    bytes: Buffer,
  ) {
    this.url = url;
    this.status = status;
    this.statusText = statusText;
    this.headers = new BufferedHeaders(headers);
    this.#bytes = NULL_BODY_STATUSES.has(status) ? null : bytes;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  /** The body as a stream (made on first access; it then counts as read). */
  get body(): ReadableStream<Uint8Array> | null {
    const bytes = this.#bytes;
    if (bytes === null) return null;
    this.#used = true;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }

  async text(): Promise<string> {
    return this.#take().toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.#take().toString("utf8")) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(this.#take());
  }

  #take(): Buffer {
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    return this.#bytes ?? Buffer.alloc(0);
  }
}
