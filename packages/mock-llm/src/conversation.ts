import {
  FINAL_ANSWER_PROMPT,
  QUERY_CLOSE,
  QUERY_OPEN,
  SUB_SYSTEM_PROMPT,
  TEXT_CLOSE,
  TEXT_OPEN,
} from "@rlm/core";
import type { SessionQuestionNote } from "./habits/habit.js";
import type { RequestKind } from "./options.js";

/** A chat message reduced to what the mock reads: a role and plain text. */
export interface PlainMessage {
  role: string;
  content: string;
}

/** A root conversation as the mock understands it. */
export interface RootConversation {
  kind: "root" | "final";
  /** The text between `<query>` and `</query>` of the first user message. */
  query: string;
  /** From the "total length: N characters" line; 0 when absent. */
  totalChars: number;
  /** Assistant messages so far + 1. */
  turn: number;
  /** The assistant messages so far, oldest first. */
  assistantReplies: string[];
  /** User messages after the first (REPL feedback, notes), oldest first. */
  feedback: string[];
  /** The JSON Schema the analysis's answer must match, when its prompt gives one. */
  outputSchema?: Record<string, unknown>;
  /** For a later question of a session: what its prompt says it starts from. */
  session?: SessionQuestionNote;
}

/** A plain sub-call: a question and the text it is about. */
export interface SubConversation {
  kind: "sub";
  question: string;
  text: string;
}

export type Conversation = RootConversation | SubConversation;

/**
 * Reads OpenAI `messages` (string content or text parts) into plain messages; anything
 * that is not a message becomes an empty user message rather than an error, as a model
 * would shrug at it.
 */
export function toPlainMessages(messages: unknown): PlainMessage[] {
  if (!Array.isArray(messages)) return [];
  return messages.map((message) => {
    if (typeof message !== "object" || message === null) return { role: "user", content: "" };
    const { role, content } = message as { role?: unknown; content?: unknown };
    return { role: typeof role === "string" ? role : "user", content: textOf(content) };
  });
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) =>
      typeof part === "object" &&
      part !== null &&
      typeof (part as { text?: unknown }).text === "string"
        ? (part as { text: string }).text
        : "",
    )
    .join("");
}

/**
 * True when the system prompt teaches the RLM REPL. Matched on its vocabulary, not on
 * equality, so rewording the engine's prompt does not turn every root call into a sub-call.
 */
export function isRootSystemPrompt(content: string): boolean {
  return /recursiveLm/.test(content) && /\bREPL\b|FINAL_VAR/.test(content);
}

/** True when a user message is the engine's one last "give your best answer" request. */
export function isFinalAnswerPrompt(content: string): boolean {
  return content.includes(FINAL_ANSWER_PROMPT) || /used every iteration/i.test(content);
}

/** Which kind of request a conversation is, without parsing the rest. */
export function classify(messages: PlainMessage[]): RequestKind {
  return parseConversation(messages).kind;
}

/** Parses a conversation into a root conversation (or final request) or a sub-call. */
export function parseConversation(messages: PlainMessage[]): Conversation {
  const system = messages.filter((m) => m.role === "system" || m.role === "developer");
  const users = messages.filter((m) => m.role === "user");
  const firstUser = users[0]?.content ?? "";
  const rootBySystem = system.some((m) => isRootSystemPrompt(m.content));
  // Without any system message, a first user message that opens with <query> is a root.
  const rootByShape =
    system.length === 0 &&
    firstUser.trimStart().startsWith(QUERY_OPEN) &&
    firstUser.includes(QUERY_CLOSE);
  const isSub = system.some((m) => m.content.includes(SUB_SYSTEM_PROMPT));
  if ((rootBySystem || rootByShape) && !isSub) {
    const last = users[users.length - 1]?.content ?? "";
    const assistantReplies = messages.filter((m) => m.role === "assistant").map((m) => m.content);
    const outputSchema = schemaIn(firstUser);
    const session = sessionIn(firstUser);
    return {
      kind: users.length > 1 && isFinalAnswerPrompt(last) ? "final" : "root",
      query: between(firstUser, QUERY_OPEN, QUERY_CLOSE) ?? firstUser.trim(),
      totalChars: totalLength(firstUser),
      turn: assistantReplies.length + 1,
      assistantReplies,
      feedback: users.slice(1).map((m) => m.content),
      ...(outputSchema ? { outputSchema } : {}),
      ...(session ? { session } : {}),
    };
  }
  // The first user message holds the question and its text; later ones (an engine asking
  // again after an answer it could not use) do not.
  return { kind: "sub", ...splitSubCall(users[0]?.content ?? "") };
}

/**
 * Splits a sub-call's user message: the question before `\n\n<text>\n`, the text up to
 * the last `\n</text>` (the text itself may contain the marks); without the marks, the
 * first paragraph and the rest.
 */
export function splitSubCall(content: string): { question: string; text: string } {
  const open = `\n\n${TEXT_OPEN}\n`;
  const start = content.indexOf(open);
  if (start === -1) {
    // A prompt with the text in it (`llm_query(question + "\n\n" + chunk)`, as the RLM
    // paper's prompts do): the question is the first paragraph, the text the rest.
    const blank = content.indexOf("\n\n");
    if (blank === -1) return { question: content.trim(), text: "" };
    return { question: content.slice(0, blank).trim(), text: content.slice(blank + 2) };
  }
  const bodyStart = start + open.length;
  const end = content.lastIndexOf(`\n${TEXT_CLOSE}`);
  return {
    question: content.slice(0, start).trim(),
    text: end >= bodyStart ? content.slice(bodyStart, end) : content.slice(bodyStart),
  };
}

function between(text: string, open: string, close: string): string | undefined {
  const start = text.indexOf(open);
  if (start === -1) return undefined;
  const end = text.indexOf(close, start + open.length);
  if (end === -1) return undefined;
  return text.slice(start + open.length, end).trim();
}

function totalLength(text: string): number {
  const match = /total length:\s*([\d,._\s]*\d)/i.exec(text);
  if (!match?.[1]) return 0;
  return Number.parseInt(match[1].replace(/[^\d]/g, ""), 10) || 0;
}

/** The line after "… matching this JSON Schema …:" in the first prompt, parsed. */
function schemaIn(text: string): Record<string, unknown> | undefined {
  const match = /JSON Schema[^\n]*:\n(\{[^\n]*\})/.exec(text);
  if (!match?.[1]) return undefined;
  try {
    const schema: unknown = JSON.parse(match[1]);
    return typeof schema === "object" && schema !== null && !Array.isArray(schema)
      ? (schema as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * "This is question N of a session …" in the first prompt, with the variables it says
 * are kept ("… still there: a, b, c.", a list that may end with "…").
 */
function sessionIn(text: string): SessionQuestionNote | undefined {
  const match = /This is question (\d+) of a session\b[^\n]*/.exec(text);
  if (!match?.[1]) return undefined;
  const listed = /still there: ([^\n]*)\.$/.exec(match[0])?.[1] ?? "";
  const variables = listed
    .split(", ")
    .map((name) => name.trim())
    .filter((name) => /^[\w$]+$/.test(name));
  return { question: Number(match[1]), variables };
}
