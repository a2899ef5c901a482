/** Message isolated-vm gives when its `timeout` stops running code. */
const IVM_TIMEOUT_MESSAGE = "Script execution timed out.";

/** True for the error isolated-vm raises when a call's `timeout` expired. */
export function isIvmTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === IVM_TIMEOUT_MESSAGE;
}

/** Cuts text to `limit` characters, marking the cut. */
export function clip(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}...` : text;
}

/**
 * A thrown value as one line of text. Used for errors that crossed from the isolate (a
 * rejected promise nobody handled) and for sub-call handler failures; never throws,
 * whatever the value's getters do.
 */
export function describeHostError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = typeof error.name === "string" && error.name !== "" ? error.name : "Error";
      return error.message ? `${name}: ${error.message}` : name;
    }
    return String(error);
  } catch {
    return "an error that could not be described";
  }
}

/** The message of an error, for an envelope the isolate turns back into an Error. */
export function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return error.message || error.name || "unknown error";
    return String(error);
  } catch {
    return "unknown error";
  }
}
