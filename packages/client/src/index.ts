export type {
  AnalysisAccepted,
  AnalysisCancel,
  AnalysisContext,
  AnalysisError,
  AnalysisEvent,
  AnalysisList,
  AnalysisOptions,
  AnalysisProgress,
  AnalysisRequest,
  AnalysisResult,
  AnalysisStatus,
  AnalysisSummary,
  AnalysisView,
  ErrorBody,
  HealthBody,
  SessionCreated,
  SessionQuestion,
  SessionQuestionAccepted,
  SessionQuestionRequest,
  SessionRequest,
  SessionView,
  UsageSummary,
  Webhook,
} from "./api-types.js";
export { isTerminalEvent, TERMINAL_STATUSES } from "./api-types.js";
export {
  type AnalysisUpload,
  type AnalyzeOptions,
  type AnalyzeResult,
  type ListAnalysesQuery,
  RlmClient,
  type RlmClientOptions,
  type WaitOptions,
} from "./client.js";
export { ClientErrorCode, RlmApiError, type RlmApiErrorDetails } from "./errors.js";
export type { SessionRequestOptions, SessionUpload } from "./session-calls.js";
export type { AnalysisEventMessage } from "./event-stream.js";
export type { components, operations, paths } from "./generated/api-types.js";
