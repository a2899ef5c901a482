import { createInterface } from "node:readline";
import type { AnalysisView, RlmQueueClient, SerializableEngineOptions } from "@rlm/queue";
import type { Logger } from "pino";
import { exitCodeFor } from "../exit-code.js";
import { loadContext } from "../load-context.js";
import { loadOutputSchema } from "../load-output-schema.js";
import { QueueProgress } from "../queue-progress.js";
import { type QueueConnection, queueConnection, redisTarget, requireRedis } from "../redis.js";
import { budgetsFrom, withoutUndefined } from "../run-settings.js";
import { oneLine, renderSummary, renderTrajectory } from "../render-result.js";
import { setup } from "../setup.js";
import { EXIT, UsageError } from "../usage-error.js";

/** Options of `rlm analyze`, as commander parses them. */
export interface AnalyzeFlags extends FollowFlags {
  file: string;
  query: string;
  idempotencyKey?: string;
  rootModel?: string;
  subModel?: string;
  maxIterations?: number;
  maxDepth?: number;
  maxSubCalls?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  /** Seconds. */
  deadline?: number;
  /** Path of a JSON Schema file the answer must match. */
  outputSchema?: string;
}

/** Options of `rlm attach` (and the following half of `analyze`). */
export interface FollowFlags {
  json?: boolean;
  /** Seconds to wait for the end before detaching with exit 1. */
  waitTimeout?: number;
}

/** Producer errors that mean the input or options were wrong: usage errors. */
const INPUT_ERRORS = new Set(["invalid_options", "invalid_input"]);

/** How long a queued analysis waits before the CLI wonders aloud whether a worker runs. */
const NO_WORKER_HINT_MS = 10_000;

/** How long a requested cancel may take before the CLI detaches anyway. */
const CANCEL_WAIT_MS = 30_000;

/**
 * `rlm analyze`: enqueues an analysis through Redis (the workers make the model calls,
 * so no key is needed here), follows its event stream with a progress display, and
 * prints the result like `rlm run`. Ctrl-C asks whether to cancel the analysis or to
 * detach from it (without a terminal it detaches); a detached analysis keeps running
 * and `rlm attach <id>` follows it again.
 *
 * @returns the exit code: as `rlm run` for a finished analysis, 1 for a failed one or a
 *   wait timeout, 130 when cancelled or detached, 2 for usage errors and no Redis.
 */
export async function analyzeCommand(flags: AnalyzeFlags): Promise<number> {
  const { env, logger } = setup();
  const context = await loadContext(flags.file);
  const outputSchema =
    flags.outputSchema === undefined ? undefined : await loadOutputSchema(flags.outputSchema);
  const target = redisTarget(env);
  await requireRedis(target);
  const options: SerializableEngineOptions = withoutUndefined({
    rootModel: flags.rootModel ?? env.RLM_ROOT_MODEL,
    subModel: flags.subModel ?? env.RLM_SUB_MODEL,
    maxIterations: flags.maxIterations ?? env.RLM_MAX_ITERATIONS,
    maxDepth: flags.maxDepth ?? env.RLM_MAX_DEPTH,
    subConcurrency: env.RLM_SUB_CONCURRENCY,
    budgets: budgetsFrom(flags),
    outputSchema,
  });

  const { RlmQueueClient } = await import("@rlm/queue");
  const redis = queueConnection(target);
  const client = new RlmQueueClient({ connection: redis.connection, prefix: env.RLM_PREFIX });
  try {
    let enqueued: { id: string; deduplicated: boolean };
    try {
      enqueued = await client.enqueueAnalysis({
        query: flags.query,
        context,
        options,
        ...(flags.idempotencyKey === undefined ? {} : { idempotencyKey: flags.idempotencyKey }),
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && INPUT_ERRORS.has(code)) {
        throw new UsageError((error as Error).message);
      }
      throw error;
    }
    logger.debug({ id: enqueued.id, deduplicated: enqueued.deduplicated, options }, "enqueued");
    // From here on a Ctrl-C must detach (or ask), never kill the process silently: hold
    // any signal that arrives before `follow` installs its own handlers.
    earlySignals.listen();
    process.stderr.write(
      enqueued.deduplicated
        ? `analysis ${enqueued.id} (already submitted with this idempotency key)\n`
        : `analysis ${enqueued.id} queued\n`,
    );
    return await followAndReport(client, enqueued.id, flags, logger);
  } finally {
    await closeWithin(client, redis, 5_000);
  }
}

/**
 * `rlm attach <id>`: follows an analysis submitted earlier (by `analyze`, the API or
 * another producer) and prints its result as `analyze` does.
 */
export async function attachCommand(id: string, flags: FollowFlags): Promise<number> {
  const { env, logger } = setup();
  const target = redisTarget(env);
  await requireRedis(target);
  const { RlmQueueClient } = await import("@rlm/queue");
  const redis = queueConnection(target);
  const client = new RlmQueueClient({ connection: redis.connection, prefix: env.RLM_PREFIX });
  try {
    if ((await client.getAnalysis(id)) === null) {
      throw new UsageError(`no analysis ${id} (unknown id, or past retention)`);
    }
    return await followAndReport(client, id, flags, logger);
  } finally {
    await closeWithin(client, redis, 5_000);
  }
}

type FollowEnd =
  { kind: "ended" } | { kind: "detached"; why: "interrupt" | "timeout" | "cancel_timeout" };

/** Follows the analysis until it ends or the user detaches; prints; returns the exit code. */
async function followAndReport(
  client: RlmQueueClient,
  id: string,
  flags: FollowFlags,
  logger: Logger,
): Promise<number> {
  let view = await client.getAnalysis(id);
  if (view === null) throw new UsageError(`no analysis ${id} (unknown id, or past retention)`);
  if (!isFinished(view)) {
    const end = await follow(client, id, flags, logger);
    if (end.kind === "detached") return detached(id, end.why, flags);
    view = await client.getAnalysis(id);
    if (view === null) throw new Error(`analysis ${id} disappeared from Redis`);
  }
  return report(view, flags);
}

function isFinished(view: AnalysisView): boolean {
  return view.status === "completed" || view.status === "failed" || view.status === "cancelled";
}

/** Holds a SIGINT/SIGTERM that arrives between enqueueing and following. */
const earlySignals = (() => {
  let received: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals) => {
    received ??= signal;
  };
  return {
    listen() {
      process.on("SIGINT", hold);
      process.on("SIGTERM", hold);
    },
    /** Stops holding; returns the signal received meanwhile, if any. */
    take(): NodeJS.Signals | undefined {
      process.off("SIGINT", hold);
      process.off("SIGTERM", hold);
      const signal = received;
      received = undefined;
      return signal;
    },
  };
})();

/**
 * Reads the event stream into the progress display until a terminal event. The first
 * SIGINT on a terminal pauses the display and asks whether to cancel; anything else
 * (SIGTERM, no terminal, a second Ctrl-C, the wait timeout) detaches.
 */
async function follow(
  client: RlmQueueClient,
  id: string,
  flags: FollowFlags,
  logger: Logger,
): Promise<FollowEnd> {
  const progress = new QueueProgress(process.stderr);
  const stop = new AbortController();
  let end: FollowEnd = { kind: "ended" };
  let finished = false;
  let closePrompt: (() => void) | undefined;
  const detach = (why: "interrupt" | "timeout" | "cancel_timeout") => {
    if (finished || stop.signal.aborted) return;
    end = { kind: "detached", why };
    stop.abort();
  };
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  let asking = false;
  let cancelling = false;
  let lastSignalAt = 0;
  let cancelTimer: NodeJS.Timeout | undefined;

  const ask = async () => {
    asking = true;
    progress.pause();
    const prompt = askYesNo("Cancel the analysis? [y/N] ");
    closePrompt = prompt.close;
    const answer = await prompt.answer;
    closePrompt = undefined;
    asking = false;
    if (finished) return;
    if (answer !== "yes") {
      detach("interrupt");
      return;
    }
    cancelling = true;
    progress.resume();
    progress.note(`cancelling analysis ${id}…`);
    try {
      const outcome = await client.cancel(id);
      logger.debug({ id, outcome }, "cancel requested");
    } catch (error) {
      progress.note(`could not request the cancel: ${oneLine(String(error))}`);
      detach("interrupt");
      return;
    }
    cancelTimer = setTimeout(() => detach("cancel_timeout"), CANCEL_WAIT_MS);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    // A terminal's Ctrl-C arrives twice (directly and forwarded by bin/rlm.js).
    if (now - lastSignalAt < 500) return;
    lastSignalAt = now;
    if (signal === "SIGINT" && interactive && !asking && !cancelling) {
      void ask();
      return;
    }
    detach("interrupt");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const early = earlySignals.take();
  if (early) onSignal(early);
  const waitTimer =
    flags.waitTimeout === undefined
      ? undefined
      : setTimeout(() => detach("timeout"), flags.waitTimeout * 1000);
  let queuedSince: number | undefined = Date.now();
  const hintTimer = setInterval(() => {
    if (queuedSince !== undefined && Date.now() - queuedSince >= NO_WORKER_HINT_MS) {
      queuedSince = undefined;
      progress.note("still queued: is a worker running (`rlm worker`) on this Redis and prefix?");
    }
  }, 1_000);
  progress.start();
  try {
    for await (const entry of client.events(id, { signal: stop.signal })) {
      logger.trace({ entry }, "analysis event");
      if (entry.event.type === "status" && entry.event.status !== "queued") queuedSince = undefined;
      progress.onEntry(entry);
    }
  } finally {
    finished = true;
    closePrompt?.();
    clearTimeout(waitTimer);
    clearTimeout(cancelTimer);
    clearInterval(hintTimer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    progress.finish();
  }
  return end;
}

/**
 * Asks on the terminal; Ctrl-C, end of input or `close()` (the analysis ended while
 * the question was open) count as "no".
 */
function askYesNo(question: string): {
  answer: Promise<"yes" | "no">;
  close: () => void;
} {
  const rl = createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal: true,
  });
  let settle: (answer: "yes" | "no") => void = () => {};
  const answer = new Promise<"yes" | "no">((resolve) => {
    let settled = false;
    settle = (value) => {
      if (settled) return;
      settled = true;
      rl.close();
      process.stdin.pause();
      resolve(value);
    };
  });
  rl.on("SIGINT", () => {
    process.stderr.write("\n");
    settle("no");
  });
  rl.on("close", () => settle("no"));
  rl.question(question, (reply) => settle(/^\s*y(es)?\s*$/i.test(reply) ? "yes" : "no"));
  return {
    answer,
    close: () => {
      process.stderr.write("\n");
      settle("no");
    },
  };
}

function detached(
  id: string,
  why: "interrupt" | "timeout" | "cancel_timeout",
  flags: FollowFlags,
): number {
  const follow = `follow it with: rlm attach ${id}`;
  if (flags.json) process.stdout.write(`${JSON.stringify({ id, status: "detached" })}\n`);
  switch (why) {
    case "timeout":
      process.stderr.write(
        `error: analysis ${id} did not finish within ${flags.waitTimeout} s; it keeps running (${follow})\n`,
      );
      return EXIT.failed;
    case "cancel_timeout":
      process.stderr.write(
        `analysis ${id}: cancel requested, not confirmed within ${CANCEL_WAIT_MS / 1000} s (${follow})\n`,
      );
      return EXIT.interrupted;
    case "interrupt":
      process.stderr.write(`detached: analysis ${id} keeps running (${follow})\n`);
      return EXIT.interrupted;
  }
}

/** Prints a finished analysis like `rlm run` prints its result. */
function report(view: AnalysisView, flags: FollowFlags): number {
  const { result } = view;
  // A failed analysis that ran keeps its partial result (finishReason "error"): it is
  // printed as `rlm run` prints one, with the same exit code.
  if (result === undefined) {
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ id: view.id, status: view.status, error: view.error ?? null }, null, 2)}\n`,
      );
    }
    if (view.status === "cancelled") {
      process.stderr.write(`analysis ${view.id} was cancelled\n`);
      return EXIT.interrupted;
    }
    const error = view.error;
    process.stderr.write(
      `error: analysis ${view.id} failed: ${error ? `${error.code}: ${oneLine(error.message)}` : "no error recorded"}\n`,
    );
    return EXIT.failed;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else if (result.finishReason !== "error" || result.replHistory.length > 0) {
    process.stdout.write(`${renderTrajectory(result)}\n${renderSummary(result)}`);
  }
  if (view.status === "cancelled") {
    process.stderr.write(`analysis ${view.id} was cancelled\n`);
    return EXIT.interrupted;
  }
  if (result.error !== undefined && result.finishReason !== "final") {
    process.stderr.write(`error: ${oneLine(result.error.message)}\n`);
  }
  return exitCodeFor(result);
}

/** Closes the client, but never hangs the CLI on a Redis that went away. */
async function closeWithin(
  client: RlmQueueClient,
  redis: QueueConnection,
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client
      .close()
      .catch(() => {})
      .then(() => redis.close())
      .catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
