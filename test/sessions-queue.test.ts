import type { RlmResult } from "@rlm/core";
import { describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { queueTestbed, waitFor } from "./support/queue-testbed.js";

// Sessions through the queue with worker processes that the test SIGKILLs: each question
// an analysis of its own, run after the earlier ones, its REPL rebuilt in whichever
// process runs it from the earlier questions' journals, with no model call repeated.
const bed = queueTestbed("sessions", {
  latencyMs: 150,
  strategy: "map-reduce",
  chunkChars: 20_000,
  // A later question's peek reuses `text`, prints `history` and the earlier `total`: a
  // REPL that did not carry over fails it with a ReferenceError.
  habits: ["session-aware"],
});

const document = makeDocument({ chars: 100_000, markerCount: 13, seed: 12 });
const countOf = (term: string) => document.text.split(term).length - 1;
const ask = (term: string) => `How many times does "${term}" appear?`;

describe("a session through the queue", () => {
  it("answers three questions across SIGKILLs, between them and during one, each REPL starting from the earlier ones", async () => {
    const terms = [document.marker, "Region 2", "warehouse"] as const;
    const session = await bed.client.sessions.create({ context: document.text });
    expect(session.questions).toEqual([]);

    // Question 1, then its worker is killed: whatever it kept in memory is gone.
    let worker = await bed.worker();
    const q1 = await bed.client.sessions.ask(session.id, { query: ask(terms[0]) });
    expect(q1.position).toBe(0);
    const first = await bed.client.waitForResult(q1.id, { timeoutMs: 60_000 });
    expect(first.answer.trim()).toBe(String(countOf(terms[0])));
    worker.kill("SIGKILL");
    await worker.exited;

    // Questions 2 and 3 asked at once, to a new process: 3 waits for 2.
    worker = await bed.worker();
    const q2 = await bed.client.sessions.ask(session.id, { query: ask(terms[1]) });
    const q3 = await bed.client.sessions.ask(session.id, { query: ask(terms[2]) });
    expect([q2.position, q3.position]).toEqual([1, 2]);
    const second = await bed.client.waitForResult(q2.id, { timeoutMs: 60_000 });
    expect(second.answer.trim()).toBe(String(countOf(terms[1])));
    const beforeThird = bed.mock.requests().length;
    const earlierCalls = new Set(bed.mock.requests().map((request) => request.messagesHash));

    // Killed during question 3, once its first cell has run (its second turn is asked).
    await waitFor(
      () =>
        bed.mock
          .requests()
          .slice(beforeThird)
          .filter((request) => request.kind === "root").length >= 2,
      30_000,
    );
    worker.kill("SIGKILL");
    await worker.exited;
    expect((await bed.client.getAnalysis(q3.id))?.status).not.toBe("completed");
    worker = await bed.worker();
    const third = await bed.client.waitForResult(q3.id, { timeoutMs: 60_000 });
    expect(third.answer.trim()).toBe(String(countOf(terms[2])));

    // Each REPL started from the earlier questions' state: `text` reused, `history` and
    // the earlier `total` there. The third's was rebuilt in the last process from both
    // earlier questions' journals (its first cell ran again there).
    expectPeek(second, 2, 1, countOf(terms[0]));
    expectPeek(third, 3, 2, countOf(terms[1]));
    // No model call of the earlier questions was made again by the rebuilds.
    const later = bed.mock.requests().slice(beforeThird);
    expect(later.filter((request) => earlierCalls.has(request.messagesHash))).toEqual([]);

    const view = await bed.client.sessions.get(session.id);
    expect(
      view?.questions.map(({ analysisId, status, answer }) => [analysisId, status, answer]),
    ).toEqual([
      [q1.id, "completed", first.answer],
      [q2.id, "completed", second.answer],
      [q3.id, "completed", third.answer],
    ]);
  });
});

/** The later question's peek: what the session-aware model printed from the REPL it found. */
function expectPeek(result: RlmResult, question: number, history: number, total: number) {
  const peek = result.replHistory[0];
  expect(peek?.code).not.toContain("const text");
  expect(peek?.error).toBeUndefined();
  expect(peek?.output).toContain(`question ${question} of a session; history: ${history}`);
  expect(peek?.output).toContain(`earlier total: ${total}`);
  expect(peek?.output).toContain(`length: ${document.text.length} characters`);
}
