import type { RlmEvent } from "@rlm/core";

/** Where progress goes: stderr in the CLI, a fake stream in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Turns engine events into progress on stderr. On a terminal it keeps one status line
 * up to date (iteration n/max, sub-calls done/started, elapsed); elsewhere (CI logs,
 * pipes) it prints one compact line when each root iteration starts and ends, so logs
 * stay short however many sub-calls run.
 */
export class ProgressReporter {
  private iteration = 0;
  private maxIterations = 0;
  private started = 0;
  private done = 0;
  private failed = 0;
  private lastDraw = 0;
  /** Characters of the root turn arriving now (streamed), 0 when none is. */
  private rootChars = 0;
  private drawn = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly stream: ProgressStream,
    private readonly label = "rlm",
    readonly live = stream.isTTY === true,
    /**
     * Where the sub-call counts come from when the events do not carry each sub-call
     * (through the queue, only the analysis's progress counts them).
     */
    private readonly subCallCounts?: () => { done: number; started: number },
  ) {}

  /** The `onEvent` listener. Never throws (the engine ignores listeners that do). */
  readonly onEvent = (event: RlmEvent): void => {
    switch (event.type) {
      case "iteration_start":
        if (event.depth !== 0) return;
        this.rootChars = 0;
        this.iteration = event.iteration;
        this.maxIterations = event.maxIterations;
        if (!this.live) this.line(`iteration ${event.iteration}/${event.maxIterations}`);
        break;
      case "iteration_end":
        if (event.depth !== 0) return;
        this.rootChars = 0;
        if (!this.live) {
          const cells = `${event.cells} cell${event.cells === 1 ? "" : "s"}`;
          this.line(`iteration ${event.iteration} done · ${cells} · ${this.subCalls()}`);
        }
        break;
      case "subcall_start":
        this.started++;
        break;
      case "subcall_end":
        this.done++;
        if (event.error !== undefined) this.failed++;
        break;
      case "root_delta":
        if (event.depth === 0) this.rootChars = event.receivedChars;
        break;
      case "cell_end":
        if (event.depth === 0) this.rootChars = 0;
        break;
    }
    if (this.live) this.draw(event.type === "iteration_start");
  };

  /** Clears the live line so what follows starts on a clean line. */
  finish(): void {
    if (this.live && this.drawn) this.stream.write("\r\x1b[K");
    this.drawn = false;
  }

  private subCalls(): string {
    if (this.subCallCounts) {
      const { done, started } = this.subCallCounts();
      return `sub-calls ${done}/${started} done`;
    }
    const failed = this.failed > 0 ? ` (${this.failed} failed)` : "";
    return `sub-calls ${this.done}/${this.started} done${failed}`;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    // Hundreds of sub-calls can end within a second; ten redraws a second are plenty.
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = ((now - this.startedAt) / 1000).toFixed(1);
    const iteration = `iteration ${this.iteration}/${this.maxIterations}`;
    const writing = this.rootChars > 0 ? ` · root model writing (${this.rootChars} chars)` : "";
    this.stream.write(
      `\r\x1b[K[${this.label}] ${iteration}${writing} · ${this.subCalls()} · ${elapsed} s`,
    );
    this.drawn = true;
  }

  private line(text: string): void {
    this.stream.write(`[${this.label}] ${text}\n`);
  }
}
