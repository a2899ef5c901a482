/**
 * Cancels a run on SIGINT/SIGTERM: the first signal aborts `controller` (the engine then
 * finishes with `finishReason: "cancelled"` and the CLI still prints what it has); a
 * second one exits at once. A repeat within `graceMs` is ignored (two signals sent at once,
 * by a process manager say). The wrapper's forwarded copy never counts as a second (see
 * `listenForForwardedStops`).
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
 * `onFirst` (a graceful stop); a repeat within `graceMs` is ignored; any later one exits
 * at once with 130. The wrapper's forwarded copy never counts as a second.
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

/**
 * `bin/rlm.js` forwards the SIGINT or SIGTERM it receives as SIGUSR2: "a stop was asked".
 * Here it becomes a SIGTERM for the command's own handlers when no stop was signalled
 * yet, and is ignored otherwise. Why: a terminal's Ctrl-C reaches this process directly
 * too (same process group), and a forwarded SIGINT that arrived late on a busy machine was
 * taken for a second Ctrl-C, which exits at once (130) instead of draining. Installed
 * first, before any command's handlers; a SIGINT/SIGTERM that no command handles still
 * exits (130), as it would without this.
 */
export function listenForForwardedStops(): void {
  let signalled = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      signalled = true;
      if (process.listenerCount(signal) === 1) process.exit(130);
    });
  }
  process.on("SIGUSR2", () => {
    if (!signalled) process.emit("SIGTERM", "SIGTERM");
  });
}
