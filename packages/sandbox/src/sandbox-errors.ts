import { RlmError } from "@rlm/core";

/** Codes of the errors this package throws (as opposed to error text a cell returns). */
export type SandboxErrorCode =
  | "sandbox_create_failed"
  | "sandbox_disposed"
  | "invalid_document"
  | "invalid_variable_name"
  | "read_variable_failed";

/**
 * An error of the sandbox API itself. What user code does wrong is never thrown: it comes
 * back as `CellResult.error` text.
 */
export class SandboxError extends RlmError {
  override readonly code: SandboxErrorCode;

  constructor(
    code: SandboxErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = "SandboxError";
    this.code = code;
  }
}
