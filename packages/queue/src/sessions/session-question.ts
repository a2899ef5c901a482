import type { AnalysisMachine, RlmResult, SessionPrelude, SessionQuestion } from "@rlm/core";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { RedisClient } from "../storage/redis-client.js";
import { isTerminalStatus } from "../analyses/analysis-types.js";
import type { RootQueueJobData, SessionPlace } from "../jobs/job-types.js";
import type { RootQueue } from "../jobs/queues.js";
import type { ContextStore } from "../storage/context-store.js";
import { RedisJournal } from "../storage/redis-journal.js";
import { allEnded, promoteQuestion, watchDelayMs } from "./session-order.js";
import { SessionStore } from "./session-store.js";
import type { SessionRecord } from "./session-types.js";

/** What the root processor lends the session side of a question's run. */
export interface SessionServices {
  redis: RedisClient;
  prefix: string;
  rootQueue: RootQueue;
  contexts: ContextStore;
  /** Retention after the last change: the session's lifetime. */
  retentionSeconds?: number;
}

/** A question of a session about to run: where it is, and the REPL it starts from. */
export interface SessionStart {
  place: SessionPlace;
  prelude: SessionPrelude;
}

function storeOf(services: SessionServices): SessionStore {
  return new SessionStore({
    redis: services.redis,
    prefix: services.prefix,
    ...(services.retentionSeconds === undefined ? {} : { ttlSeconds: services.retentionSeconds }),
  });
}

/**
 * What a question's run starts from: every earlier question that ended with an answer
 * (its query, answer, the cells that ran and its journal, for a rebuild of the REPL
 * replaying them with no model call), `history`, and the variables the last of them left.
 *
 * Throws BullMQ's `DelayedError` with the job delayed when an earlier question has not
 * ended yet (its job is started again when that one ends, or after a watch delay), and
 * `UnrecoverableError` when the session is gone.
 */
export async function openSessionQuestion(
  services: SessionServices,
  job: Job<RootQueueJobData>,
  place: SessionPlace,
  token: string | undefined,
): Promise<SessionStart> {
  const store = storeOf(services);
  const record = await store.get(place.sessionId);
  if (!record) throw new UnrecoverableError(`session ${place.sessionId} has expired`);
  const earlier = record.questions.slice(0, place.position);
  if (!(await allEnded(store, earlier))) {
    if (!token) throw new Error("a question of a session needs its job's token to wait");
    // A look that found the earlier questions running: the job waits for them, longer
    // each time (its starts so far count the looks).
    await job.moveToDelayed(Date.now() + watchDelayMs(job.attemptsStarted - 1), token);
    // They may have ended while it moved, too late to see it delayed and promote it.
    if (await allEnded(store, earlier)) await promoteQuestion(services.rootQueue, job.id ?? "");
    throw new DelayedError();
  }
  // Read again: what an earlier question left is written before it is reported ended,
  // so only a read after its end was seen is sure to hold it.
  const ended = await store.get(place.sessionId);
  if (!ended) throw new UnrecoverableError(`session ${place.sessionId} has expired`);
  return { place, prelude: preludeOf(services, ended, place) };
}

/** The REPL the question at `place` starts from, from the session's record. */
function preludeOf(
  services: SessionServices,
  record: SessionRecord,
  place: SessionPlace,
): SessionPrelude {
  const earlier: SessionQuestion[] = [];
  let variables: string[] = [];
  for (let position = 0; position < place.position; position += 1) {
    const end = record.ends.get(position);
    const analysisId = record.questions[position];
    // A question that never ran (cancelled while queued) left nothing.
    if (!end || analysisId === undefined) continue;
    earlier.push({
      query: end.query,
      answer: end.answer,
      cells: end.cells,
      journal: new RedisJournal({ redis: services.redis, analysisId, prefix: services.prefix }),
    });
    variables = end.variables;
  }
  return { seed: place.sessionId, position: place.position, earlier, variables };
}

/**
 * Records what the question leaves for the next ones (answer, cells, variables), and
 * gives the session's analyses and document the session's lifetime again. Called before
 * its analysis is reported ended, so that an ended question has it: a worker that dies
 * in between leaves the job to run again (replaying its journal) and write it. The
 * run's sandbox, handed over to read its variables, is released here.
 */
export async function recordSessionEnd(
  services: SessionServices,
  start: SessionStart,
  machine: AnalysisMachine,
  result: RlmResult,
  query: string,
): Promise<void> {
  let variables = start.prelude.variables;
  const live = machine.handOverSandbox();
  if (live) {
    try {
      variables = await live.sandbox.variableNames();
    } finally {
      live.sandbox.dispose();
    }
  }
  const store = storeOf(services);
  const { sessionId, position } = start.place;
  const recorded = await store.recordEnd(sessionId, position, {
    query,
    answer: result.answer,
    finishReason: result.finishReason,
    cells: machine.sessionQuestion()?.cells ?? [],
    variables,
  });
  const record = recorded ? await store.get(sessionId) : null;
  if (!record) return;
  await Promise.all([
    store.keepAlive(record.questions),
    services.contexts.touch(record.contextRef, store.ttlSeconds),
  ]);
}

/**
 * After the question was reported ended: the first later question still to run (one
 * cancelled while it waited is skipped) starts now if it waits.
 */
export async function afterSessionEnd(
  services: SessionServices,
  place: SessionPlace,
): Promise<void> {
  const store = storeOf(services);
  const record = await store.get(place.sessionId);
  if (!record) return;
  const later = record.questions.slice(place.position + 1);
  const states = await store.questionStates(later);
  const next = later.find((_, index) => {
    const status = states[index]?.status;
    return status !== null && status !== undefined && !isTerminalStatus(status);
  });
  if (next !== undefined) await promoteQuestion(services.rootQueue, next);
}
