/**
 * Cancels a run on SIGINT/SIGTERM: the first signal aborts `controller` (the engine then
 * finishes with `finishReason: "cancelled"` and the CLI still prints what it has); a
 * second one exits at once. A repeat within `graceMs` is ignored because a terminal's
 * Ctrl-C reaches this process twice: once from the terminal (same process group as the
 * `bin/rlm.js` wrapper) and once forwarded by the wrapper.
 *
 * @returns a function that removes the handlers.
 */
export function cancelOnSignals(
  controller: AbortController,
  options: { onFirst?: (signal: NodeJS.Signals) => void; graceMs?: number } = {},
): () => void {
  const graceMs = options.graceMs ?? 500;
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      options.onFirst?.(signal);
      controller.abort(new Error(`received ${signal}`));
      return;
    }
    if (now - firstAt < graceMs) return;
    process.exit(130);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/**
 * For long-running commands (`worker`, `serve`): the first SIGINT/SIGTERM calls
 * `onFirst` (a graceful stop); a repeat within `graceMs` is the duplicate of a
 * terminal's Ctrl-C and is ignored; any later one exits at once with 130.
 *
 * @returns a function that removes the handlers.
 */
export function stopOnSignals(
  onFirst: (signal: NodeJS.Signals) => void,
  options: {
    graceMs?: number;
    onForced?: (signal: NodeJS.Signals) => void;
  } = {},
): () => void {
  const graceMs = options.graceMs ?? 500;
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      onFirst(signal);
      return;
    }
    if (Date.now() - firstAt < graceMs) return;
    options.onForced?.(signal);
    process.exit(130);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
