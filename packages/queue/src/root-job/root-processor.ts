import { DocumentLoadError, RlmError, SpanAttributes } from "@rlm/core";
import { type Job, UnrecoverableError, WaitingChildrenError, WaitingError } from "bullmq";
import { AnalysisReporter } from "../analyses/analysis-reporter.js";
import { JobLockLostError } from "../errors.js";
import { firstStart } from "../jobs/first-start.js";
import { graceForEarlierHolder } from "../jobs/stalled-grace.js";
import {
  isNestedJobData,
  type NestedJobData,
  type RootQueueJobData,
  type RootQueueJobResult,
  subCallJobResult,
} from "../jobs/job-types.js";
import {
  afterSessionEnd,
  openSessionQuestion,
  type SessionStart,
} from "../sessions/session-question.js";
import { RedisJournal } from "../storage/redis-journal.js";
import { inJobSpan, JobSpanAttributes, JobSpanNames } from "../observing/job-trace.js";
import { driveRun } from "./drive-run.js";
import { buildRun, type RootRun } from "./root-run.js";
import type { RootProcessorServices } from "./root-services.js";
import { RootSlots } from "./root-slots.js";
import { cancelledResult, finishCancelled, recordOutcome } from "./run-outcome.js";
import { readRunSources, releaseSources } from "./run-sources.js";

/**
 * Processes `rlm-root` jobs: top analyses and nested sub-analyses. A run steps its
 * analysis's machine to the end, keeping the job's slot while it waits for its sub-calls,
 * whose answers reach it live (`driveRun`). When it must give the slot up, the job moves
 * to waiting-children and the run ends here; BullMQ starts the job again once its
 * children have ended, in any process, and the new run replays the journal. Those are
 * the two ways an answer reaches a cell: live, or by replay.
 */
export function createRootProcessor(services: RootProcessorServices) {
  const slots = services.slots ?? new RootSlots(Number.POSITIVE_INFINITY);
  return async function processRootJob(
    job: Job<RootQueueJobData>,
    token?: string,
    // Aborted by the worker when the job's lock could not be renewed (`Worker.cancelJob`
    // on BullMQ's `lockRenewalFailed`): the job may be another worker's by now.
    lockLost?: AbortSignal,
  ): Promise<RootQueueJobResult> {
    slots.jobTaken();
    const unhold = services.heldLocks?.hold(job, token);
    try {
      // One span per run of the job, under the span the analysis (or the sub-call of a
      // nested one) was enqueued under: one trace per analysis, across processes.
      return await inJobSpan(
        JobSpanNames.run,
        job.data.trace,
        runAttributes(services, job),
        (span) =>
          processRun(services, slots, job, token, lockLost, () =>
            span.setAttribute(JobSpanAttributes.rebuilt, true),
          ),
        (error) => error instanceof WaitingChildrenError,
      );
    } catch (error) {
      // Whatever the run was doing when its lock went (a cell rejected, a moveTo refused
      // for the lock), the job is not this run's to fail or complete: BullMQ leaves a job
      // alone after a `WaitingError`, and its next run (here or elsewhere) replays it.
      if (lockLost?.aborted) throw new WaitingError(lostReason(job).message);
      throw error;
    } finally {
      unhold?.();
      slots.jobFreed();
    }
  };
}

function runAttributes(services: RootProcessorServices, job: Job<RootQueueJobData>) {
  return {
    [SpanAttributes.analysisId]: job.data.analysisId,
    [SpanAttributes.depth]: job.data.depth,
    [JobSpanAttributes.system]: "bullmq",
    [JobSpanAttributes.destination]: job.queueName,
    [JobSpanAttributes.operation]: "process",
    [JobSpanAttributes.messageId]: job.id ?? "",
    ...(services.workerName ? { [JobSpanAttributes.worker]: services.workerName } : {}),
  };
}

async function processRun(
  services: RootProcessorServices,
  slots: RootSlots,
  job: Job<RootQueueJobData>,
  token: string | undefined,
  lockLost: AbortSignal | undefined,
  markRebuilt: () => void,
): Promise<RootQueueJobResult> {
  const data = job.data;
  // A question of a session waits (its job delayed) until the earlier ones have ended,
  // and starts from the REPL they left.
  const session: SessionStart | undefined =
    isNestedJobData(data) || data.session === undefined
      ? undefined
      : await openSessionQuestion(services, job, data.session, token);
  const reporter = isNestedJobData(data)
    ? undefined
    : new AnalysisReporter({
        redis: services.redis,
        analysisId: data.analysisId,
        prefix: services.prefix,
        ...(services.retentionSeconds === undefined
          ? {}
          : { retentionSeconds: services.retentionSeconds }),
      });
  const rebuilt = !firstStart(job);
  // A rebuild first waits for the children an earlier run of the job added (below).
  // Otherwise what the run is built from is read in the same round trip as the start
  // check: a new job's first model call leaves one round trip sooner.
  const waitsForChildren = token !== undefined && rebuilt;
  const sources = waitsForChildren ? undefined : readRunSources(services, job);
  sources?.catch(() => undefined); // awaited below, or handed back
  const started = await startCheck(services, job, reporter).catch(async (error: unknown) => {
    if (sources) await releaseSources(services, job, sources);
    throw error;
  });
  if (started !== "go") {
    if (sources) await releaseSources(services, job, sources);
    // A question that ended without running (cancelled first): the next one need not wait.
    if (session) await afterSessionEnd(services, session.place);
    return started.result;
  }
  let run: RootRun;
  try {
    // Children an earlier run added may still be running: wait for them first, so that
    // the replay finds their answers in the journal instead of asking for them again.
    if (waitsForChildren && (await job.moveToWaitingChildren(token))) {
      if (reporter) await reporter.waiting();
      throw new WaitingChildrenError();
    }
    // Taken over from a worker whose lock lapsed since a run here last saw the job: that
    // worker may be alive and about to journal what it holds (Redis was away). Once per
    // takeover, not at each later resume.
    const takeovers = job.stalledCounter;
    if (rebuilt && takeovers > (data.takeoversSeen ?? 0)) {
      await graceForEarlierHolder();
      await job.updateData({ ...data, takeoversSeen: takeovers }).catch(() => undefined);
    }
    if (rebuilt) {
      markRebuilt();
      if (services.stats) services.stats.rebuilt += 1;
    }
    run = await buildRun(
      services,
      job,
      reporter,
      sources ?? readRunSources(services, job),
      rebuilt,
      session,
    );
  } catch (error) {
    // A context that expired will not come back: no point in retrying.
    if (error instanceof RlmError && error.code === "context_missing") {
      throw new UnrecoverableError(error.message);
    }
    throw error;
  }
  const lose = () => run.lose(lostReason(job));
  if (lockLost?.aborted) lose();
  else lockLost?.addEventListener("abort", lose, { once: true });
  try {
    for (;;) {
      const end = await driveRun(run, slots, services.parkAfterMs);
      // Lost while it stepped: its outcome (a cancel, an abort error) is not the job's.
      if (lockLost?.aborted) throw lostReason(job);
      if ("result" in end) {
        const outcome = await recordOutcome(services, job, reporter, run, end.result);
        // BullMQ completes a parent only once it has seen its children end; the result
        // is recorded already, so this is off the producer's way.
        if (run.executor.issuedChildren && token && (await job.moveToWaitingChildren(token))) {
          throw new WaitingChildrenError();
        }
        return outcome;
      }
      if (!token) throw new Error("the root processor needs the job token");
      if (reporter) await reporter.waiting();
      if (await job.moveToWaitingChildren(token)) {
        if (services.stats) services.stats.parked += 1;
        throw new WaitingChildrenError();
      }
      // Its children had all ended: their answers are in the journal (or never came).
      await run.executor.childrenEnded();
      if (reporter) await reporter.running();
    }
  } catch (error) {
    // A deferred document that expired will not come back; any other failure to load
    // it is retried with the job.
    if (error instanceof DocumentLoadError && !error.retryable) {
      throw new UnrecoverableError(error.message);
    }
    throw error;
  } finally {
    lockLost?.removeEventListener("abort", lose);
    run.release();
  }
}

function lostReason(job: Job): JobLockLostError {
  return new JobLockLostError(job.id ?? "");
}

/**
 * Whether the job's analysis still wants a run: a top analysis moves to `running` unless
 * it has ended (a run reported its result before waiting for its children, a cancel while
 * queued) or a cancel was requested; a nested one has not written its result yet and its
 * top analysis is neither cancelled nor ended. Otherwise, the job's result.
 */
async function startCheck(
  services: RootProcessorServices,
  job: Job<RootQueueJobData>,
  reporter: AnalysisReporter | undefined,
): Promise<"go" | { result: RootQueueJobResult }> {
  const data = job.data;
  if (reporter) {
    const state = await reporter.start();
    if (state === "running") return "go";
    if (state === "cancel_requested") {
      return { result: await finishCancelled(job, reporter, services.observe) };
    }
    const record = await services.store.get(data.analysisId).catch(() => null);
    const finishReason = record?.result?.finishReason ?? "cancelled";
    return { result: { analysisId: data.analysisId, finishReason } };
  }
  const nested = data as NestedJobData;
  const journal = new RedisJournal({
    redis: services.redis,
    analysisId: nested.analysisId,
    prefix: services.prefix,
  });
  const [unwanted, own] = await Promise.all([
    services.store.callsUnwanted(nested.analysisId),
    journal.get(nested.journalKey),
  ]);
  if (own?.kind === "sub") return { result: subCallJobResult(own) };
  if (unwanted) return { result: cancelledResult() };
  return "go";
}
