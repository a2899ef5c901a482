/** What {@link writePieces} writes to: a node request or socket. */
export interface PieceSink {
  write(chunk: string | Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/**
 * Writes `pieces` to `sink` one after another, each once the sink has taken the previous
 * ones (`drain`), so only a window or two of a large prompt (see StreamedJsonBody) is in
 * memory at a time. Stops as soon as `stopped()` is true; calls `done` once the last
 * piece is handed over, and `failed` with the error if producing a piece throws (then
 * writes nothing more).
 */
export function writePieces(
  sink: PieceSink,
  pieces: Iterator<string | Uint8Array>,
  on: { stopped: () => boolean; done: () => void; failed: (error: Error) => void },
): void {
  const pump = () => {
    try {
      while (!on.stopped()) {
        const next = pieces.next();
        if (next.done) {
          on.done();
          return;
        }
        if (!sink.write(next.value)) {
          sink.once("drain", pump);
          return;
        }
      }
    } catch (error) {
      on.failed(error as Error);
    }
  };
  pump();
}
