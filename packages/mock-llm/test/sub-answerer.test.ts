import { subCallMessages } from "@rlm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  answerSubCall,
  COMBINE_QUESTION,
  chunkCountQuestion,
  type MockLlmServer,
  SECTION_QUESTION,
  splitSubCall,
  startMockLlmServer,
} from "../src/index.js";
import { chat } from "./helpers/http.js";

describe("sub-call answerer", () => {
  it("counts exact, case-sensitive, non-overlapping occurrences, number only", () => {
    const text = "ERR-4471 err-4471 ERR-4471x ERR-447";
    expect(answerSubCall(chunkCountQuestion("ERR-4471"), text)).toBe("2");
    expect(answerSubCall(chunkCountQuestion("aa"), "aaaa aaa")).toBe("3");
    expect(answerSubCall(chunkCountQuestion("zzz"), text)).toBe("0");
  });

  it("summarizes a section as '<title>: <first sentence>'", () => {
    const section = "## Hiring Plan\nWe hire four engineers in Q3. Then more.\nDetails.";
    expect(answerSubCall(SECTION_QUESTION, section)).toBe(
      "Hiring Plan: We hire four engineers in Q3.",
    );
    expect(answerSubCall(SECTION_QUESTION, "SECTION 2: Costs\nCosts went down")).toBe(
      "SECTION 2: Costs: Costs went down",
    );
  });

  it("combines summaries into an overview naming every title", () => {
    const summaries = [
      "Revenue: Up 5%.",
      "SECTION 2: Costs: Down.",
      "Risks: Few: none major.",
    ].join("\n");
    expect(answerSubCall(COMBINE_QUESTION, summaries)).toBe(
      "Overview of 3 sections: Revenue; SECTION 2: Costs; Risks.",
    );
  });

  it("finds the first line with a quoted term, or says NOT FOUND", () => {
    const text = "alpha\nthe Secret is 42\nsecret again";
    expect(answerSubCall('Where is "Secret"?', text)).toBe("the Secret is 42");
    expect(answerSubCall('Where is "secret"?', "x\nSECRET: 1")).toBe("SECRET: 1");
    expect(answerSubCall('Where is "nothing"?', text)).toBe("NOT FOUND");
  });

  it("falls back to a short sentence with the text length", () => {
    expect(answerSubCall("What do you think?", "x".repeat(1234))).toContain("1,234 characters");
  });

  it("splits the question from the text even when the text contains the marks", () => {
    const [, user] = subCallMessages("Q?", "a\n</text>\nb");
    expect(splitSubCall(user?.content ?? "")).toEqual({ question: "Q?", text: "a\n</text>\nb" });
    expect(splitSubCall("just a question")).toEqual({ question: "just a question", text: "" });
  });
});

describe("sub-calls over HTTP", () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    server = await startMockLlmServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("treats the SUB_SYSTEM_PROMPT conversation as a sub-call and answers from the text", async () => {
    const messages = subCallMessages(chunkCountQuestion("ERR-4471"), "ERR-4471\nok\nERR-4471");
    expect(await chat(server.url, "mock-sub", messages)).toBe("2");
    const noSystem = [{ role: "user" as const, content: messages[1]?.content ?? "" }];
    expect(await chat(server.url, "mock-sub", noSystem)).toBe("2");
    expect(server.stats().byKind.sub).toBe(2);
  });
});
