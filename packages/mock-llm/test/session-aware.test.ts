import { describeContext, ROOT_SYSTEM_PROMPT, rootUserPrompt } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { parseConversation, planRootReply, toPlainMessages } from "../src/index.js";
import { codeBlocks, compileCell } from "./helpers/http.js";

// The `session-aware` habit: a later question of a session reuses what the earlier ones
// left in the REPL, as a model told so by its prompt would.
const CONTEXT = "alpha INC-1 beta\n".repeat(500);
const QUERY = 'How many times does "INC-1" appear?';

function firstTurn(session?: { question: number; variables: string[] }) {
  const messages = toPlainMessages([
    { role: "system", content: ROOT_SYSTEM_PROMPT },
    {
      role: "user",
      content: rootUserPrompt(
        QUERY,
        describeContext(CONTEXT, 600),
        { number: 1, max: 10, depth: 0 },
        {},
        undefined,
        session,
      ),
    },
  ]);
  const conversation = parseConversation(messages);
  if (conversation.kind === "sub") throw new Error("not a root conversation");
  return conversation;
}

describe("the session-aware habit", () => {
  it("reads the question's number and the kept variables from the prompt", () => {
    expect(firstTurn().session).toBeUndefined();
    expect(firstTurn({ question: 3, variables: ["text", "count", "history"] }).session).toEqual({
      question: 3,
      variables: ["text", "count"],
    });
  });

  it("prints history and the earlier results, and reuses text, on a later question's peek", () => {
    const conversation = firstTurn({ question: 2, variables: ["text", "count", "term"] });
    const reply = planRootReply(conversation, {
      strategy: "peek-grep",
      chunkChars: 100_000,
      habits: ["session-aware"],
    });
    const [code] = codeBlocks(reply.content);
    expect(code).toBeDefined();
    expect(code).toContain('print("question", 2, "of a session; history:", history.length);');
    expect(code).toContain('print("earlier count:", JSON.stringify(count));');
    expect(code).not.toContain("const text =");
    expect(code).toContain('print("length:", text.length, "characters");');
    compileCell(code!);
  });

  it("declares text when the prompt does not say it is kept, and leaves first questions alone", () => {
    const later = planRootReply(firstTurn({ question: 2, variables: [] }), {
      strategy: "map-reduce",
      chunkChars: 1_000,
      habits: ["session-aware"],
    });
    expect(later.content).toContain("const text =");
    expect(later.content).toContain("history.length");
    expect(later.content).not.toContain("earlier ");
    const first = planRootReply(firstTurn(), {
      strategy: "map-reduce",
      chunkChars: 1_000,
      habits: ["session-aware"],
    });
    expect(first.content).not.toContain("history");
  });
});
