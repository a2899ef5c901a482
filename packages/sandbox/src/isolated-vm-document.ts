import { isAscii } from "node:buffer";
import type { RlmContext, SandboxDocument } from "@rlm/core";
import ivm from "isolated-vm";
import { releaseBufferNow } from "./release-buffer.js";
import { SandboxError } from "./sandbox-errors.js";

/**
 * The document serialised once, outside any isolate. Every sandbox copies it in with
 * `copyInto()` (about a millisecond even for 50 MB), so re-creating an isolate after a
 * loss never serialises the document again.
 */
export class IsolatedVmDocument implements SandboxDocument {
  readonly #copy: ivm.ExternalCopy<RlmContext>;
  readonly #isString: boolean;
  #released = false;

  /**
   * Serialises the document. Synchronous and proportional to its size (about 300 ms for
   * 50 MB): do it once per analysis per process.
   *
   * @throws {SandboxError} `invalid_document` when it is not a string, an array or a
   * JSON object, or cannot be copied.
   */
  constructor(context: RlmContext) {
    if (typeof context !== "string" && (typeof context !== "object" || context === null)) {
      throw new SandboxError(
        "invalid_document",
        "the context must be a string, an array of strings or a JSON object",
      );
    }
    this.#isString = typeof context === "string";
    try {
      this.#copy = new ivm.ExternalCopy(context);
    } catch (error) {
      throw new SandboxError("invalid_document", "the context could not be copied", {
        cause: error,
      });
    }
  }

  /**
   * A string document from its UTF-8 bytes, which it takes over: they are freed as soon
   * as they are decoded (see `releaseBufferNow`), so at most two copies of the document
   * (bytes and text, then text and the sandbox copy) are ever resident, and one stays.
   * ASCII bytes are decoded as Latin-1, which Node turns into a string outside the V8
   * heap without validating UTF-8 again.
   *
   * @throws {SandboxError} `invalid_document` when the text cannot be copied.
   */
  static fromUtf8(bytes: Buffer): IsolatedVmDocument {
    let text: string | undefined = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
    releaseBufferNow(bytes);
    const document = new IsolatedVmDocument(text);
    text = undefined;
    return document;
  }

  /** True once `release()` was called. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * A transferable copy for one isolate (the host-side copy stays).
   *
   * @throws {SandboxError} `invalid_document` after `release()`.
   */
  copyForIsolate(): ivm.Copy<RlmContext> {
    if (this.#released) {
      throw new SandboxError("invalid_document", "the document was released");
    }
    return this.#copy.copyInto();
  }

  /**
   * The document as a host string that shares this copy's memory (an external string,
   * like the one each isolate gets), or undefined when the document is not a string.
   * A caller that holds this instead of the string it loaded keeps the document in
   * memory once, for the host and every isolate. The memory stays valid for as long as
   * the returned string lives, also after `release()`.
   *
   * @throws {SandboxError} `invalid_document` after `release()`.
   */
  sharedText(): string | undefined {
    if (this.#released) {
      throw new SandboxError("invalid_document", "the document was released");
    }
    if (!this.#isString) return undefined;
    return this.#copy.copy() as string;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#copy.release();
  }
}
