import { type RlmContext, RlmError, resolveEngineOptions, validateContext } from "@rlm/core";
import type { RedisClient } from "../storage/redis-client.js";
import type { AnalysisStore } from "../analyses/analysis-store.js";
import { type AnalysisStatus, isTerminalStatus } from "../analyses/analysis-types.js";
import { mergeOptions } from "../client/enqueue-input.js";
import { InvalidInputError, QueueErrorCode } from "../errors.js";
import type { RootJobData, SerializableEngineOptions } from "../jobs/job-types.js";
import type { RootQueue } from "../jobs/queues.js";
import type { ContextStore } from "../storage/context-store.js";
import { DEFAULT_PREFIX, type RedisKeys, redisKeys } from "../storage/keys.js";
import { allEnded, promoteQuestion, questionJobName, watchDelayMs } from "./session-order.js";
import { SessionStore } from "./session-store.js";
import type { SessionPlace, SessionRecord, SessionView } from "./session-types.js";

/** Input of `SessionClient.create`. */
export interface CreateSessionInput {
  context: RlmContext;
  /** Engine options under each question's own (`budgets`/`limits` merged per field). */
  options?: SerializableEngineOptions;
  /** The same key always returns the same session (for the retention period). */
  idempotencyKey?: string;
}

/** What `SessionClient.create` returns: the session, and whether it existed already. */
export type CreatedSession = SessionView & {
  /** True when the idempotency key was already bound: no session was created. */
  deduplicated: boolean;
};

/** Input of `SessionClient.ask`. */
export interface AskSessionInput {
  query: string;
  options?: SerializableEngineOptions;
  /** Within the session, the same key always returns the same question. */
  idempotencyKey?: string;
}

/** What `SessionClient.ask` returns: the question's analysis, and its place. */
export interface EnqueuedQuestion extends SessionPlace {
  /** The analysis id: follow it as any analysis (`getAnalysis`, `events`, `waitForResult`). */
  id: string;
  status: AnalysisStatus;
  deduplicated: boolean;
}

/** What a `SessionClient` works with: the producer's own stores and queue. */
export interface SessionClientDeps {
  redis: RedisClient;
  prefix?: string;
  queue: RootQueue;
  contexts: ContextStore;
  analyses: AnalysisStore;
  /** The producer's defaults, under a session's options. */
  defaultOptions: SerializableEngineOptions;
  /** Lifetime of a session after its last change, as of analyses. */
  ttlSeconds: number;
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/**
 * Sessions on the producer side: questions over one stored document whose REPL carries
 * over (variables, and `history`). Each question is an analysis like any other, whose
 * root job runs once the session's earlier questions have ended (see `session-order.ts`).
 *
 * ```ts
 * const { id } = await client.sessions.create({ context: contract });
 * const first = await client.sessions.ask(id, { query: "List the parties." });
 * await client.waitForResult(first.id, { timeoutMs: 600_000 });
 * ```
 */
export class SessionClient {
  private readonly deps: SessionClientDeps;
  private readonly store: SessionStore;
  private readonly keys: RedisKeys;

  constructor(deps: SessionClientDeps) {
    this.deps = deps;
    this.keys = redisKeys(deps.prefix ?? DEFAULT_PREFIX);
    this.store = new SessionStore({
      redis: deps.redis,
      prefix: deps.prefix ?? DEFAULT_PREFIX,
      ttlSeconds: deps.ttlSeconds,
    });
  }

  /**
   * Stores the document once (content-addressed) and creates the session. Throws
   * `invalid_input` for a bad context or key, `invalid_options` for bad options.
   */
  async create(input: CreateSessionInput): Promise<CreatedSession> {
    if (typeof input !== "object" || input === null) {
      throw new InvalidInputError("the input must be an object with a context");
    }
    validateContext(input.context);
    checkKey(input.idempotencyKey);
    const options = mergeOptions({}, input.options ?? {});
    // Refused now rather than at every question.
    resolveEngineOptions(mergeOptions(this.deps.defaultOptions, options));
    const key = input.idempotencyKey;
    if (key !== undefined) {
      // A known key must not cost another upload of a large document.
      const existing = await this.deps.redis.get(this.keys.sessionIdempotency(key));
      if (existing !== null) return this.created(existing, true);
    }
    const contextRef = await this.deps.contexts.put(input.context);
    // As long as the session at least (stored for another use, it may live longer).
    await this.deps.contexts.touch(contextRef, this.deps.ttlSeconds);
    const { id, created } = await this.store.create({
      contextRef,
      options,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
    return this.created(id, !created);
  }

  /**
   * Asks a question in the session: creates its analysis and adds its root job, which
   * runs once the earlier questions have ended. Throws `not_found` when the session (or
   * its document) is gone, `invalid_input` / `invalid_options` for bad input.
   */
  async ask(sessionId: string, input: AskSessionInput): Promise<EnqueuedQuestion> {
    if (typeof input !== "object" || input === null) {
      throw new InvalidInputError("the input must be an object with a query");
    }
    if (typeof input.query !== "string" || input.query.trim() === "") {
      throw new InvalidInputError("query must be a non-empty string");
    }
    checkKey(input.idempotencyKey);
    const session = await this.require(sessionId);
    const options = mergeOptions(
      mergeOptions(this.deps.defaultOptions, session.options),
      input.options ?? {},
    );
    const resolved = resolveEngineOptions(options);
    // Keys are the session's own: the same key in another session is another question.
    const key =
      input.idempotencyKey === undefined ? undefined : `${sessionId}/${input.idempotencyKey}`;
    const known = key === undefined ? null : await this.deps.analyses.findByIdempotencyKey(key);
    // The document lives as long as the session: a question asked gives it its lifetime.
    const stored =
      known !== null || (await this.deps.contexts.touch(session.contextRef, this.deps.ttlSeconds));
    if (!stored) {
      throw new RlmError(QueueErrorCode.notFound, `the document of session ${sessionId} expired`);
    }
    const { id, created } =
      known !== null
        ? { id: known, created: false }
        : await this.deps.analyses.create({
            query: input.query,
            contextRef: session.contextRef,
            options,
            maxIterations: resolved.maxIterations,
            ...(key === undefined ? {} : { idempotencyKey: key }),
          });
    const position = await this.store.append(sessionId, id);
    if (position === null) throw notFound(sessionId);
    const record = await this.deps.analyses.get(id);
    if (!record) throw new RlmError(QueueErrorCode.notFound, `analysis ${id} is no longer stored`);
    const place = { sessionId, position };
    // A retry finds its question queued: the job is added again in case the first call
    // died before it (adding an existing job id is a no-op).
    if (record.status === "queued") {
      await this.enqueue(place, {
        analysisId: id,
        query: record.query,
        contextRef: record.contextRef,
        options: record.options,
        depth: 0,
        createdAt: record.createdAt,
        session: place,
      });
    }
    return { id, status: record.status, deduplicated: !created, ...place };
  }

  /**
   * The session with its questions (status, and the answer once ended), or null for an
   * unknown or expired session.
   */
  async get(sessionId: string): Promise<SessionView | null> {
    let record = await this.store.get(sessionId);
    if (!record) return null;
    const states = await this.store.questionStates(record.questions);
    // A question that ended since the record was read: what it left is there now (it is
    // written before the end is reported).
    const unread = states.some(
      ({ status }, position) => status && isTerminalStatus(status) && !record?.ends.has(position),
    );
    if (unread) record = (await this.store.get(sessionId)) ?? record;
    const { ends } = record;
    const questions: SessionView["questions"] = [];
    record.questions.forEach((analysisId, position) => {
      const state = states[position];
      // Gone with its retention: the session outlived it (it never does unless Redis
      // evicts keys, which production Redis must not: `noeviction`).
      if (!state?.status) return;
      const end = ends.get(position);
      const ended = isTerminalStatus(state.status) && end !== undefined;
      questions.push({
        analysisId,
        position,
        query: state.query ?? end?.query ?? "",
        status: state.status,
        ...(ended ? { answer: end.answer, finishReason: end.finishReason } : {}),
      });
    });
    return {
      id: record.id,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
      questions,
    };
  }

  /**
   * Adds the question's job: delayed while an earlier question has not ended (the one
   * that ends promotes it), and looked at again once added, for an earlier question that
   * ended meanwhile, too soon to see the job. The session's analyses get its lifetime.
   */
  private async enqueue(place: SessionPlace, data: RootJobData): Promise<void> {
    const session = await this.require(place.sessionId);
    const earlier = session.questions.slice(0, place.position);
    const waits = !(await allEnded(this.store, earlier));
    await this.deps.queue.add(questionJobName(data.analysisId, data.query, place), data, {
      jobId: data.analysisId,
      ...(waits ? { delay: watchDelayMs(0) } : {}),
    });
    if (waits && (await allEnded(this.store, earlier))) {
      await promoteQuestion(this.deps.queue, data.analysisId);
    }
    await this.store.keepAlive(session.questions);
  }

  private async created(id: string, deduplicated: boolean): Promise<CreatedSession> {
    const view = await this.get(id);
    // Bound key, session gone: only past retention, as both share a TTL.
    if (!view) throw notFound(id);
    return { ...view, deduplicated };
  }

  private async require(sessionId: string): Promise<SessionRecord> {
    const session = await this.store.get(sessionId);
    if (!session) throw notFound(sessionId);
    return session;
  }
}

function checkKey(key: unknown): void {
  if (
    key !== undefined &&
    (typeof key !== "string" || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    throw new InvalidInputError(
      `idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
}

function notFound(sessionId: string): RlmError {
  return new RlmError(QueueErrorCode.notFound, `no session ${sessionId}`);
}
