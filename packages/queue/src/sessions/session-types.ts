import type { ExecutedCell, FinishReason } from "@rlm/core";
import { newAnalysisId } from "../analyses/analysis-id.js";
import type { AnalysisStatus } from "../analyses/analysis-types.js";
import type { SerializableEngineOptions } from "../jobs/job-types.js";
import type { ContextRef } from "../storage/context-ref.js";

export type { SessionPlace } from "../jobs/job-types.js";

/**
 * What a question of a session leaves for the later ones, written by its worker before
 * the analysis is reported ended (so an ended question always has it, but for one that
 * never ran: cancelled while queued, or failed outside the engine).
 */
export interface SessionQuestionEnd {
  query: string;
  answer: string;
  finishReason: FinishReason;
  /** Its cells that ran without losing the isolate, in order: what a rebuild replays. */
  cells: ExecutedCell[];
  /** The variables defined once it ended: what the next question's prompt lists. */
  variables: string[];
}

/** The session record as stored in `{prefix}:session:{id}`. */
export interface SessionRecord {
  id: string;
  contextRef: ContextRef;
  /** Engine options under each question's own. */
  options: SerializableEngineOptions;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** The analysis id of each question, by position. */
  questions: string[];
  /** What each ended question left, by position. */
  ends: Map<number, SessionQuestionEnd>;
}

/** One question as `SessionView` shows it. */
export interface SessionQuestionView {
  analysisId: string;
  /** 0 for the first question. */
  position: number;
  query: string;
  status: AnalysisStatus;
  /** Once the question has ended with an answer. */
  answer?: string;
  finishReason?: FinishReason;
}

/** What a producer sees of a session (`getSession`, `GET /v1/sessions/:id`). */
export interface SessionView {
  id: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  /** Oldest first. */
  questions: SessionQuestionView[];
}

/**
 * A new session id: `se_` + 20 random base32 characters (100 bits), drawn as analysis ids
 * are. Session ids name Redis keys: no `:` in them.
 */
export function newSessionId(): string {
  return `se_${newAnalysisId().slice("an_".length)}`;
}

/** True for strings shaped like `newSessionId()` output. */
export function isSessionId(value: string): boolean {
  return /^se_[a-z2-7]{20}$/.test(value);
}
