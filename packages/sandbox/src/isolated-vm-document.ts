import type { RlmContext, SandboxDocument } from "@rlm/core";
import ivm from "isolated-vm";
import { SandboxError } from "./sandbox-errors.js";

/**
 * The document serialised once, outside any isolate. Every sandbox copies it in with
 * `copyInto()` (about a millisecond even for 50 MB), so re-creating an isolate after a
 * loss never serialises the document again.
 */
export class IsolatedVmDocument implements SandboxDocument {
  readonly #copy: ivm.ExternalCopy<RlmContext>;
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
    try {
      this.#copy = new ivm.ExternalCopy(context);
    } catch (error) {
      throw new SandboxError("invalid_document", "the context could not be copied", {
        cause: error,
      });
    }
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

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#copy.release();
  }
}
