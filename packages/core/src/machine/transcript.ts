import type { ChatMessage } from "../model.js";
import type { ReplHistoryEntry } from "../result.js";

/**
 * What an analysis has said and run so far: the iteration it is in, its conversation with
 * the root model and the history of its cells. The machine moves the iteration and holds
 * the conversation; its collaborators read them and add the cells.
 */
export class Transcript {
  /** From 1; one past `maxIterations` once the last request for an answer is made. */
  iteration = 1;
  readonly messages: ChatMessage[] = [];
  readonly history: ReplHistoryEntry[] = [];
}
