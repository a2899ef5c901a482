// The public surface of @rlm/queue, chosen name by name: what producers (apps/api,
// apps/cli, services), workers and the tools around them use. Everything else is the
// package's own.

// Producers: enqueue, follow, wait for and cancel analyses.
export {
  type CancelOutcome,
  type EnqueueAnalysisInput,
  type EnqueuedAnalysis,
  RlmQueueClient,
  type RlmQueueClientOptions,
} from "./client/rlm-queue-client.js";
export type { AnalysisWebhook } from "./client/root-jobs.js";

// Sessions: questions over one stored document whose REPL carries over.
export {
  type AskSessionInput,
  type CreatedSession,
  type CreateSessionInput,
  type EnqueuedQuestion,
  SessionClient,
} from "./sessions/session-client.js";
export {
  isSessionId,
  newSessionId,
  type SessionPlace,
  type SessionQuestionEnd,
  type SessionQuestionView,
  type SessionRecord,
  type SessionView,
} from "./sessions/session-types.js";
export { SessionStore, type SessionStoreOptions } from "./sessions/session-store.js";

// Analyses: records, events, and what a worker reports about them.
export {
  type AnalysisEvent,
  type AnalysisEventEntry,
  AnalysisEvents,
  type AnalysisEventsOptions,
  isTerminalEvent,
  type SubscribeOptions,
} from "./analyses/analysis-events.js";
export { isAnalysisId, newAnalysisId } from "./analyses/analysis-id.js";
export {
  type AnalysisPage,
  type AnalysisSummary,
  DEFAULT_PAGE_SIZE,
  type ListAnalysesQuery,
  MAX_PAGE_SIZE,
  SUMMARY_QUERY_CHARS,
} from "./analyses/analysis-index.js";
export { AnalysisReporter, type AnalysisReporterOptions } from "./analyses/analysis-reporter.js";
export {
  type AnalysisError,
  type AnalysisProgress,
  type AnalysisRecord,
  type AnalysisStatus,
  type AnalysisView,
  isTerminalStatus,
  TERMINAL_STATUSES,
  toAnalysisView,
} from "./analyses/analysis-types.js";
export { AnalysisFailedError, InvalidInputError, QueueErrorCode } from "./errors.js";

// Jobs and queues (Bull Board, operations, tests).
export { firstWords, jobNames } from "./jobs/job-names.js";
export {
  isNestedJobData,
  type LlmCall,
  type LlmJobData,
  type LlmJobResult,
  type NestedJobData,
  type RootJobData,
  type RootJobResult,
  type RootQueueJobData,
  type SerializableEngineOptions,
  type SubCallJobResult,
} from "./jobs/job-types.js";
export { QueueName } from "./jobs/queue-names.js";
export {
  bullmqOptions,
  createLlmQueue,
  createRootQueue,
  type LlmQueue,
  type QueueJobSettings,
  type QueueTopology,
  type RootQueue,
} from "./jobs/queues.js";
export {
  createWebhookQueue,
  WEBHOOK_JOB_DEFAULTS,
  type WebhookJobData,
  type WebhookJobResult,
  webhookJobId,
  type WebhookQueue,
} from "./jobs/webhook-jobs.js";

// Storage: the journal, stored contexts, keys and connections (one Redis or a cluster).
export {
  type ContextRef,
  ContextStore,
  type ContextStoreOptions,
} from "./storage/context-store.js";
export { DEFAULT_PREFIX, queuePrefix, type RedisKeys, redisKeys } from "./storage/keys.js";
export {
  type ClusterConnectionOptions,
  closeRedis,
  type DuplicateOverrides,
  duplicateClient,
  isRedisClient,
  masterNodes,
  openCluster,
  type OwnedRedis,
  openRedis,
  type RedisClient,
  type RedisConnectionOptions,
  type RlmConnection,
} from "./storage/redis-client.js";
export {
  type JournalEntry,
  listJournalRecords,
  RedisJournal,
  type RedisJournalOptions,
} from "./storage/redis-journal.js";

// Observing: what workers and producers tell an app's metrics, and the trace context
// jobs carry.
export { JobSpanAttributes, JobSpanNames, type TraceCarrier } from "./observing/job-trace.js";
export type {
  AnalysisEnded,
  CallTryOutcome,
  Observer,
  ProducerObservation,
  WorkerObservation,
} from "./observing/observations.js";

// Workers.
export { type CollectGarbage, exposedGarbageCollector } from "./documents/large-document.js";
export type { WorkerEngineDefaults } from "./root-job/root-services.js";
export type { SubCallBatching } from "./sub-calls/overflow-jobs.js";
export { startRlmWorker } from "./worker/start-worker.js";
export type { RlmWorker, RlmWorkerOptions, WorkerRole } from "./worker/worker-options.js";
