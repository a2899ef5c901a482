/**
 * `@rlm/mock-llm`: an OpenAI-compatible server that plays scripted RLM strategies, with
 * set latency and injected faults, for tests, benchmarks and the offline demo. The
 * scripted model and its pieces are exported for unit tests.
 */

export {
  type Conversation,
  isFinalAnswerPrompt,
  isRootSystemPrompt,
  type PlainMessage,
  parseConversation,
  type RootConversation,
  type SubConversation,
  splitSubCall,
  toPlainMessages,
} from "./conversation.js";
export type { FaultKind } from "./faults.js";
export { decideFault } from "./faults.js";
export { bestAnswer } from "./final-answer.js";
export { estimateTokens } from "./openai-format.js";
export {
  DEFAULT_SETTINGS,
  type FaultOptions,
  type MockLlmOptions,
  type MockLlmSettings,
  mergeSettings,
  type RequestKind,
  type StrategyName,
  type StrategySetting,
} from "./options.js";
export { createPrng, type Prng } from "./prng.js";
export type { MockLlmStats, MockRequestRecord, ModelStats } from "./recorder.js";
export { messagesHash } from "./recorder.js";
export { respond, type ScriptedReply } from "./responder.js";
export { HABIT_NAMES, type HabitName } from "./habits/habit.js";
export {
  planRootReply,
  type RootPlaySettings,
  type RootReply,
  strategyScript,
} from "./root-responder.js";
export { chunkCountQuestion } from "./scripts/map-reduce.js";
export type { ScriptInput } from "./scripts/script-input.js";
export { COMBINE_QUESTION, SECTION_QUESTION } from "./scripts/summarize.js";
export { type MockLlmServer, startMockLlmServer } from "./server.js";
export { structuredAnswer } from "./structured-answer.js";
export { chooseStrategy } from "./strategy.js";
export {
  answerSubCall,
  combineSummaries,
  countOccurrences,
  summarizeSection,
} from "./sub-answerer.js";
export { escapeRegExp, extractTerm } from "./term.js";
