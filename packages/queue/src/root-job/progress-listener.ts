import type { RlmEvent } from "@rlm/core";
import type { Job } from "bullmq";
import { type AnalysisReporter, reportEntries } from "../analyses/analysis-reporter.js";
import type { ReportEntry } from "../analyses/analysis-store.js";

/** How often sub-call counts are written to the record. */
const PROGRESS_FLUSH_MS = 250;

/** A run's progress writer: the engine's listener, and the wait for what it has written. */
export interface ProgressListener {
  onEvent: (event: RlmEvent) => void;
  /** Resolves once every write of the events heard so far has been answered. */
  written(): Promise<void>;
}

/**
 * Progress into the analysis record, the event stream and the BullMQ job. The events of
 * one turn of the event loop are written together, in order, by one script, in a later
 * task: the engine emits them on its way to the next model call, and building their
 * Redis commands first held that call back by a millisecond or two. Sub-call counts
 * (hundreds per fan-out) are written every 250 ms, and before the next iteration event.
 * The counts are absolute and include replayed calls: a machine rebuilt in another
 * process replays every earlier call, so its counts are the analysis's, even when the
 * process that started a call died before it ended.
 */
export function progressListener(reporter: AnalysisReporter, job: Job): ProgressListener {
  let subCallsStarted = 0;
  let subCallsDone = 0;
  let countsDue = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let entries: ReportEntry[] = [];
  let jobProgress: object | undefined;
  let usage: object = {};
  let scheduled = false;
  let writes: Promise<void> = Promise.resolve();

  const counts = (): ReportEntry => ({
    progress: { set: { subCallsTotal: subCallsStarted, subCallsDone } },
  });
  const write = () => {
    scheduled = false;
    if (countsDue) {
      countsDue = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      entries.unshift(counts());
    }
    const batch = entries;
    const progress = jobProgress;
    entries = [];
    jobProgress = undefined;
    // Chained: each turn's entries land after the previous turn's.
    writes = writes.then(() => reporter.report(batch).catch(() => undefined));
    if (progress) job.updateProgress(progress).catch(() => undefined);
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(write);
  };

  return {
    written: async () => {
      if (scheduled) await new Promise((resolve) => setImmediate(resolve));
      await writes;
    },
    onEvent: (event) => {
      if (event.type === "subcall_start" || event.type === "subcall_end") {
        if (event.depth !== 0) return;
        if (event.type === "subcall_start") subCallsStarted += 1;
        else subCallsDone += 1;
        countsDue = true;
        timer ??= setTimeout(schedule, PROGRESS_FLUSH_MS);
        timer.unref?.();
        return;
      }
      // The counts so far go first: an iteration's end carries its whole fan-out.
      if (countsDue) {
        countsDue = false;
        if (timer) clearTimeout(timer);
        timer = undefined;
        entries.push(counts());
      }
      entries.push(...reportEntries(event));
      // The BullMQ job's progress (what Bull Board shows), once per iteration: its number,
      // and the usage of the iterations before it.
      if (event.depth === 0 && event.type === "iteration_end") {
        usage = {
          inputTokens: event.usage.inputTokens,
          outputTokens: event.usage.outputTokens,
          costUsd: event.usage.costUsd,
        };
      }
      if (event.depth === 0 && event.type === "iteration_start") {
        jobProgress = { iteration: event.iteration, subCallsStarted, subCallsDone, ...usage };
      }
      schedule();
    },
  };
}
