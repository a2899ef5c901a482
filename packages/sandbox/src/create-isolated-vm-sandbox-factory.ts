import type { RlmContext, Sandbox, SandboxFactory, SandboxOptions } from "@rlm/core";
import { IsolatedVmDocument } from "./isolated-vm-document.js";
import { IsolatedVmSandbox, type IsolatedVmSandboxTuning } from "./isolated-vm-sandbox.js";
import { SandboxError } from "./sandbox-errors.js";

/** Options of {@link createIsolatedVmSandboxFactory}; nothing is required. */
export type IsolatedVmSandboxFactoryOptions = IsolatedVmSandboxTuning;

/**
 * The production {@link SandboxFactory}: a JavaScript REPL on isolated-vm.
 *
 * - `loadDocument(context)` serialises the document once (one `ExternalCopy`);
 *   `loadDocumentFromUtf8(bytes)` does so for a string from its UTF-8 bytes, freeing them.
 * - `create(options)` starts an isolate (`memoryLimit: limits.memoryMb`) whose globals are
 *   `context`, `print`, `console.*`, `recursiveLm`, `FINAL`, `FINAL_VAR` and nothing else
 *   from the host. Top-level declarations persist across cells, `await` works at top
 *   level, `Date` and `Math.random` replay per (seed, cellKey), and every failure of the
 *   model's code (syntax, exceptions, CPU/wall/memory limits) is returned as error text.
 *
 * Processes that use it must run Node with `--no-node-snapshot` (isolated-vm on Node 20+).
 */
export function createIsolatedVmSandboxFactory(
  options: IsolatedVmSandboxFactoryOptions = {},
): SandboxFactory {
  const tuning: IsolatedVmSandboxTuning = { ...options };
  return {
    async loadDocument(context: RlmContext): Promise<IsolatedVmDocument> {
      return new IsolatedVmDocument(context);
    },
    async loadDocumentFromUtf8(bytes: Buffer): Promise<IsolatedVmDocument> {
      return IsolatedVmDocument.fromUtf8(bytes);
    },
    async create(sandboxOptions: SandboxOptions): Promise<Sandbox> {
      const { document } = sandboxOptions;
      if (!(document instanceof IsolatedVmDocument)) {
        throw new SandboxError(
          "invalid_document",
          "the document was not loaded by this sandbox factory (use its loadDocument)",
        );
      }
      return IsolatedVmSandbox.create(document, sandboxOptions, tuning);
    },
  };
}
