import { OpenAiError } from "./openai-errors.js";

/** A message as OpenAI's clients send it (validated in shape by the route's schema). */
export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  name?: string;
  tool_calls?: unknown;
}

/** What a conversation asks of an analysis. */
export interface ConversationAnalysis {
  query: string;
  context: string | string[];
}

/**
 * Turns a conversation into an analysis: its last user message is the query, and every
 * other message, in order, is the context. A lone other message is the context as its
 * text (a document sent as one message reaches the REPL as the plain string
 * `POST /v1/analyses` would give it). Several are an array of `"<role>: <content>"`
 * strings, one per message: the model is then told how many messages there are and how
 * long each is (the REPL's view of an array), can read one by its index, hand one to a
 * sub-call, search them all, or join them into the transcript; an array of
 * `{ role, content }` objects would show as JSON instead, and every search would have to
 * reach into it first.
 *
 * @throws {OpenAiError} 400 for a conversation with no user message, or nothing beside it.
 */
export function conversationToAnalysis(messages: readonly ChatMessage[]): ConversationAnalysis {
  const last = messages.findLastIndex((message) => message.role === "user");
  if (last < 0) {
    throw OpenAiError.invalid("messages must hold a user message: the last one is the question");
  }
  const query = textOf(messages[last]!, last).trim();
  if (query === "") throw OpenAiError.invalid(`messages[${last}] (the question) is empty`);
  const others = messages
    .map((message, index) => ({ message, index }))
    .filter(({ index }) => index !== last)
    .filter(({ message, index }) => textOf(message, index).trim() !== "");
  if (others.length === 0) {
    throw OpenAiError.invalid(
      "the conversation holds no context: send the document in messages before the last " +
        "user message (the question)",
    );
  }
  if (others.length === 1 && others[0]!.message.role === "user") {
    return { query, context: textOf(others[0]!.message, others[0]!.index) };
  }
  return {
    query,
    context: others.map(({ message, index }) => `${message.role}: ${textOf(message, index)}`),
  };
}

/** A message's text: its string, its text parts joined, or (tool calls only) their JSON. */
function textOf(message: ChatMessage, index: number): string {
  const { content } = message;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part, partIndex) => {
        if (part.type !== "text" || typeof part.text !== "string") {
          throw OpenAiError.invalid(
            `messages[${index}].content[${partIndex}] is a ${part.type} part: only text is read`,
            `messages[${index}].content`,
          );
        }
        return part.text;
      })
      .join("\n");
  }
  return message.tool_calls === undefined ? "" : JSON.stringify(message.tool_calls);
}
