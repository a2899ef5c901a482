import { type PlainMessage, parseConversation } from "./conversation.js";
import type { MockLlmSettings, RequestKind, StrategyName } from "./options.js";
import { planRootReply } from "./root-responder.js";
import { answerSubCall } from "./sub-answerer.js";

/** The scripted model's reply to a conversation. */
export interface ScriptedReply {
  kind: RequestKind;
  content: string;
  strategy?: StrategyName;
  step?: string;
}

/**
 * The scripted model: reads a conversation and replies like a model would. Root and
 * final-answer conversations play a strategy; anything else is a plain sub-call.
 */
export function respond(
  messages: PlainMessage[],
  settings: Pick<MockLlmSettings, "strategy" | "chunkChars" | "habits">,
): ScriptedReply {
  const conversation = parseConversation(messages);
  if (conversation.kind === "sub") {
    return { kind: "sub", content: answerSubCall(conversation.question, conversation.text) };
  }
  const reply = planRootReply(conversation, settings);
  return {
    kind: conversation.kind,
    content: reply.content,
    strategy: reply.strategy,
    step: reply.step,
  };
}
