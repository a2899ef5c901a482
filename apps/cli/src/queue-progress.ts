import type { AnalysisEventEntry, AnalysisProgress, AnalysisStatus } from "@rlm/queue";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { ProgressReporter, type ProgressStream } from "./progress.js";

/** What a status means to someone watching. */
const STATUS_TEXT: Record<AnalysisStatus, string> = {
  queued: "queued",
  running: "running",
  waiting: "waiting for sub-calls",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/**
 * Progress of a queued analysis from its event stream. On a terminal: two live
 * cli-progress bars, root iterations (n/max) and sub-calls (done/started), with the
 * status and elapsed time. Elsewhere: the compact lines of `ProgressReporter` (one per
 * root iteration start and end) plus a line when a worker picks the analysis up.
 */
export class QueueProgress {
  private status: AnalysisStatus = "queued";
  private progress: AnalysisProgress = {
    iteration: 0,
    maxIterations: 0,
    subCallsDone: 0,
    subCallsTotal: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: null,
  };
  private multibar: MultiBar | undefined;
  private iterationsBar: SingleBar | undefined;
  private subCallsBar: SingleBar | undefined;
  private readonly lines: ProgressReporter;
  private readonly live: boolean;
  private pickedUp = false;
  private paused = false;
  private ticker: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly stream: ProgressStream & NodeJS.WritableStream,
    private readonly label = "rlm",
  ) {
    this.live = stream.isTTY === true;
    // Sub-call events are not published through the queue: the counts are the progress's.
    this.lines = new ProgressReporter(stream, label, false, () => ({
      done: this.progress.subCallsDone,
      started: this.progress.subCallsTotal,
    }));
  }

  /** Shows the bars at once (status `queued`), before the first event arrives. */
  start(): void {
    if (!this.live) return;
    this.draw();
    // The elapsed time moves on while nothing happens (a long model call, a queue wait).
    this.ticker = setInterval(() => {
      if (!this.paused) this.draw();
    }, 1_000);
    this.ticker.unref();
  }

  /** Feeds one stream entry. Never throws. */
  onEntry(entry: AnalysisEventEntry): void {
    const { event } = entry;
    switch (event.type) {
      case "status":
        this.status = event.status;
        if (!this.live && !this.pickedUp && event.status === "running") {
          this.pickedUp = true;
          this.line("picked up by a worker");
        }
        break;
      case "progress":
        this.progress = event.progress;
        break;
      case "iteration":
      case "subcall":
        if (!this.live) this.lines.onEvent(event.engine);
        break;
      default:
        this.status = event.type;
        break;
    }
    if (this.live && !this.paused) this.draw();
  }

  /** A one-off note: above the bars on a terminal, a line otherwise. */
  note(text: string): void {
    if (this.multibar && !this.paused) this.multibar.log(`${text}\n`);
    else this.stream.write(`[${this.label}] ${text}\n`);
  }

  /** Takes the bars off the screen (for a prompt); `resume` brings them back. */
  pause(): void {
    this.paused = true;
    this.stopBars();
  }

  resume(): void {
    this.paused = false;
    if (this.live) this.draw();
  }

  /** Removes the bars for good, so what follows starts on a clean line. */
  finish(): void {
    clearInterval(this.ticker);
    this.paused = true;
    this.stopBars();
  }

  private draw(): void {
    const p = this.progress;
    const detail = { status: STATUS_TEXT[this.status], tokens: tokens(p) };
    if (this.multibar === undefined) {
      this.multibar = new MultiBar(
        {
          stream: this.stream,
          format: ` {label} {bar} {counts}  {detail}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          stopOnComplete: false,
          fps: 10,
          autopadding: true,
        },
        Presets.shades_classic,
      );
      this.iterationsBar = this.multibar.create(
        1,
        0,
        {},
        {
          format: ` {label} {bar} {counts}  {detail} · {elapsed}`,
        },
      );
      this.subCallsBar = this.multibar.create(1, 0, {});
    }
    this.iterationsBar?.setTotal(Math.max(1, p.maxIterations));
    this.iterationsBar?.update(p.iteration, {
      label: "iterations",
      counts: `${p.iteration}/${p.maxIterations || "?"}`.padEnd(9),
      detail: detail.status,
      elapsed: formatElapsed(Date.now() - this.startedAt),
    });
    this.subCallsBar?.setTotal(Math.max(1, p.subCallsTotal));
    this.subCallsBar?.update(p.subCallsDone, {
      label: "sub-calls ",
      counts: `${p.subCallsDone}/${p.subCallsTotal}`.padEnd(9),
      detail: detail.tokens,
    });
  }

  private stopBars(): void {
    this.multibar?.stop();
    this.multibar = undefined;
    this.iterationsBar = undefined;
    this.subCallsBar = undefined;
  }

  private line(text: string): void {
    this.stream.write(`[${this.label}] ${text}\n`);
  }
}

function tokens(p: AnalysisProgress): string {
  const cost = p.costUsd === null ? "" : ` · $${p.costUsd.toFixed(4)}`;
  return `${p.inputTokens + p.outputTokens} tokens${cost}`;
}

function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
