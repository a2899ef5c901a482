import { FINAL_ANSWER_PROMPT, type RlmContext } from "@rlm/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  COMBINE_QUESTION,
  chooseStrategy,
  extractTerm,
  type MockLlmServer,
  parseConversation,
  planRootReply,
  SECTION_QUESTION,
  type StrategyName,
  startMockLlmServer,
  strategyScript,
  toPlainMessages,
} from "../src/index.js";
import { rootConversation, type Turn } from "./helpers/conversations.js";
import { chat, codeBlocks, compileCell } from "./helpers/http.js";

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.reset();
  server.configure({ strategy: "auto", chunkChars: 100_000 });
});

/** Plays a root conversation turn by turn; each turn's output is made up. */
async function play(query: string, context: RlmContext, outputs: string[]): Promise<string[]> {
  const turns: Turn[] = [];
  const replies: string[] = [];
  for (const output of [...outputs, ""]) {
    const reply = await chat(server.url, "mock-root", rootConversation(query, context, turns));
    replies.push(reply);
    turns.push({ reply, output });
  }
  return replies;
}

describe("term and strategy detection", () => {
  it("takes the first double-quoted phrase, else a sensible phrase", () => {
    expect(extractTerm('How many times does "ERR-4471" appear? Also "other"')).toBe("ERR-4471");
    expect(extractTerm("Find \u201cblue whale\u201d please")).toBe("blue whale");
    expect(extractTerm("What is the access code?")).toBe("access code");
    expect(extractTerm("What is the value of MAX_RETRIES?")).toBe("MAX_RETRIES");
    expect(extractTerm("???")).toBe("the");
  });

  it("auto picks summarize, map-reduce or peek-grep by size, else needle", () => {
    expect(chooseStrategy("auto", "Summarize the report", 10, 100)).toBe("summarize");
    expect(chooseStrategy("auto", 'How many times does "x" appear?', 201, 100)).toBe("map-reduce");
    expect(chooseStrategy("auto", 'Count "x"', 200, 100)).toBe("peek-grep");
    expect(chooseStrategy("auto", "What is the password?", 1e9, 100)).toBe("needle");
    expect(chooseStrategy("needle", "Summarize", 1, 1)).toBe("needle");
  });

  it("reads the query, the total length and the turn from the engine's prompts", () => {
    const messages = rootConversation('Count "a"\nplease', "a".repeat(12_345), [
      { reply: "r", output: "o" },
    ]);
    const conversation = parseConversation(toPlainMessages(messages));
    expect(conversation).toMatchObject({
      kind: "root",
      query: 'Count "a"\nplease',
      totalChars: 12_345,
      turn: 2,
    });
  });
});

describe("strategy scripts", () => {
  it("peek-grep: peek, count with an escaped regex into const count, then FINAL_VAR(count) without code", async () => {
    const query = 'How many times does "x.y+(z)" appear?';
    const replies = await play(query, "x.y+(z) and x.y+(z)", ["type: string", "count: 2"]);
    expect(codeBlocks(replies[0] ?? "")[0]).toContain("typeof context");
    const turn2 = codeBlocks(replies[1] ?? "")[0] ?? "";
    expect(turn2).toMatch(/^const count = /m);
    expect(turn2).toContain(JSON.stringify("x\\.y\\+\\(z\\)"));
    expect(replies[2]).toMatch(/^FINAL_VAR\(count\)$/m);
    expect(codeBlocks(replies[2] ?? "")).toEqual([]);
    expect(server.requests().map((r) => r.strategy)).toEqual([
      "peek-grep",
      "peek-grep",
      "peek-grep",
    ]);
  });

  it("needle: peek, collect const hits case-insensitively, then FINAL(hits[0]) in code", async () => {
    const replies = await play("What is the access code?", "x", ["type: string", "first hit: a"]);
    const turn2 = codeBlocks(replies[1] ?? "")[0] ?? "";
    expect(turn2).toMatch(/^const hits = /m);
    expect(turn2).toContain('"gi"');
    expect(turn2).toContain('"access code"');
    expect(codeBlocks(replies[2] ?? "")[0]).toContain('FINAL(hits[0] ?? "not found")');
  });

  it("map-reduce: chunks, Promise.all of recursiveLm with the escaped term, sums into total, then FINAL_VAR(total)", async () => {
    server.configure({ chunkChars: 10 });
    const replies = await play('How many times does "ERR-4471" appear?', "ERR-4471 ".repeat(10), [
      "type: string",
      "total: 10",
    ]);
    const turn2 = codeBlocks(replies[1] ?? "")[0] ?? "";
    expect(turn2).toContain("Promise.all");
    expect(turn2).toContain("recursiveLm(");
    expect(turn2).toContain("splitIntoChunks(text, 10)");
    expect(turn2).toContain(
      JSON.stringify(
        'How many times does "ERR-4471" appear in this text? Answer with the number only.',
      ),
    );
    expect(turn2).toMatch(/^const total = /m);
    expect(replies[2]).toMatch(/^FINAL_VAR\(total\)$/m);
    expect(codeBlocks(replies[2] ?? "")).toEqual([]);
  });

  it('summarize: peek with headings, sections in parallel, one combine call, then FINAL_VAR("overview") in code', async () => {
    const replies = await play("Summarize the report.", "# A\nx\n# B\ny", [
      "headings: 2",
      "overview: z",
    ]);
    expect(codeBlocks(replies[0] ?? "")[0]).toContain("headings");
    const turn2 = codeBlocks(replies[1] ?? "")[0] ?? "";
    expect(turn2).toContain("Promise.all");
    expect(turn2).toContain(JSON.stringify(SECTION_QUESTION));
    expect(turn2).toContain(JSON.stringify(COMBINE_QUESTION));
    expect(turn2).toMatch(/^const overview = /m);
    expect(codeBlocks(replies[2] ?? "")[0]?.trim()).toBe('FINAL_VAR("overview");');
  });

  it("answers FINAL(best answer) to the final-answer prompt and when the script has run out", async () => {
    const turns: Turn[] = [
      { reply: "r1", output: "type: string" },
      { reply: "r2", output: "term: x\ncount: 42" },
    ];
    const messages = rootConversation('Count "x"', "x", turns);
    messages.push({ role: "user", content: FINAL_ANSWER_PROMPT });
    expect(await chat(server.url, "mock-root", messages)).toBe("FINAL(42)");
    expect(server.requests()[0]?.kind).toBe("final");
    const ranOut = rootConversation('Count "x"', "x", [
      ...turns,
      { reply: "r3", output: "total: 7" },
    ]);
    expect(await chat(server.url, "mock-root", ranOut)).toBe("FINAL(7)");
  });

  it("after an error prints a simpler self-contained answer, then FINAL_VAR of it", async () => {
    const query = 'How many times does "ERR" appear?';
    const turns: Turn[] = [
      { reply: "peek", output: "type: string" },
      { reply: "fan out", output: "", error: "sub-call failed: 500" },
    ];
    const recovery = await chat(server.url, "mock-root", rootConversation(query, "ERR", turns));
    const code = codeBlocks(recovery)[0] ?? "";
    expect(code).toMatch(/^const fallback3 = /m);
    expect(code).not.toContain("recursiveLm");
    compileCell(code);
    turns.push({ reply: recovery, output: "answer: 1" });
    expect(await chat(server.url, "mock-root", rootConversation(query, "ERR", turns))).toBe(
      "FINAL_VAR(fallback3)",
    );
    // A recovery that fails too: answer with what it printed.
    const failedAgain = rootConversation(query, "ERR", [
      ...turns.slice(0, 2),
      { reply: recovery, output: "answer: 1", error: "boom" },
    ]);
    const messages = failedAgain;
    expect(await chat(server.url, "mock-root", messages)).toBe("FINAL(1)");
  });

  it("writes code that compiles, whatever the term", () => {
    const terms = [
      'it\'s a "quote"',
      "C:\\path\\$1",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a term that looks like a placeholder on purpose
      "${x}`tick`",
      "\u2028sep",
      "(a|b)*[c]",
      "plain",
    ];
    const strategies: StrategyName[] = ["peek-grep", "needle", "map-reduce", "summarize"];
    let cells = 0;
    for (const term of terms) {
      for (const strategy of strategies) {
        const input = { query: `About ${term}?`, term, chunkChars: 1000 };
        for (const reply of strategyScript(strategy, input)) {
          for (const code of codeBlocks(reply)) {
            expect(() => compileCell(code), `${strategy} / ${term}:\n${code}`).not.toThrow();
            cells += 1;
          }
        }
        const recovery = planRootReply(
          {
            kind: "root",
            query: `Find "${term}"`,
            totalChars: 10,
            turn: 3,
            assistantReplies: ["a", "b"],
            feedback: ["Output:\nx", "Output:\n\nError: bad"],
          },
          { strategy, chunkChars: 1000 },
        );
        expect(recovery.step).toBe("recovery");
        for (const code of codeBlocks(recovery.content)) compileCell(code);
      }
    }
    expect(cells).toBeGreaterThan(50);
  });
});
