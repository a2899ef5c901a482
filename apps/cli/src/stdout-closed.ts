/**
 * What the CLI does when the reader of its stdout goes away (`rlm demo | head -1`): every
 * later write fails with EPIPE. That is the reader's choice, not a failure: a command
 * that holds something to clean up (the demo's worker and Redis keys, a run's model
 * calls) registers a handler and stops gracefully; with none registered the process
 * exits at once. Either way the exit code is 0 unless something else failed first.
 */
const handlers = new Set<() => void>();
let closed = false;

/** Whether stdout's reader has gone (a write failed with EPIPE). */
export function stdoutClosed(): boolean {
  return closed;
}

/**
 * Calls `handler` once when stdout's reader goes away (at once if it has already gone),
 * instead of the default immediate exit.
 *
 * @returns a function that removes the handler.
 */
export function onStdoutClosed(handler: () => void): () => void {
  if (closed) {
    handler();
    return () => {};
  }
  handlers.add(handler);
  return () => handlers.delete(handler);
}

/** Installs the EPIPE handling on `process.stdout` (once, at start). */
export function watchStdout(exitCode: () => number): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    // Every later write fails again; only the first one counts.
    if (closed) return;
    closed = true;
    if (handlers.size === 0) process.exit(exitCode());
    for (const handler of [...handlers]) handler();
    handlers.clear();
  });
}
