import type { RlmEvent } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { Rlm } from "rlm-queue";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ProgressReporter } from "../apps/cli/src/progress.js";
import { makeDocument } from "./support/documents.js";

let mock: MockLlmServer;
beforeAll(async () => {
  mock = await startMockLlmServer({ latencyMs: 2, strategy: "peek-grep" });
});
afterAll(async () => {
  await mock?.stop();
});

describe("streamed root turns", () => {
  it("report the answer arriving (root_delta), streamed over HTTP, for a progress line", async () => {
    const document = makeDocument({ chars: 50_000, markerCount: 4, seed: 2 });
    const events: RlmEvent[] = [];
    let screen = "";
    const progress = new ProgressReporter({
      write: (text: string) => (screen += text),
      isTTY: true,
    });
    const rlm = new Rlm({
      baseURL: mock.url,
      apiKey: "k",
      rootModel: "mock-root",
      streamRootTurns: true,
      onEvent: (event) => {
        events.push(event);
        progress.onEvent(event);
      },
    });
    const result = await rlm.completion(
      `How many times does "${document.marker}" appear?`,
      document.text,
    );
    expect(result.answer.trim()).toBe("4");
    const roots = mock.requests().filter((request) => request.kind !== "sub");
    expect(roots.length).toBeGreaterThan(0);
    expect(roots.every((request) => request.stream)).toBe(true);
    const deltas = events.filter((event) => event.type === "root_delta");
    expect(deltas.length).toBeGreaterThan(0);
    const first = deltas.filter((event) => event.type === "root_delta" && event.iteration === 1);
    const counts = first.map((event) => (event.type === "root_delta" ? event.receivedChars : 0));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBe(result.messages[2]?.content.length);
    // Without the option, nothing is streamed.
    mock.reset();
    await new Rlm({ baseURL: mock.url, apiKey: "k", rootModel: "mock-root" }).completion(
      `How many times does "${document.marker}" appear?`,
      document.text,
    );
    expect(mock.requests().some((request) => request.stream)).toBe(false);
  });

  it("shows the root model writing on the live progress line", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      let screen = "";
      const progress = new ProgressReporter({
        write: (text: string) => (screen += text),
        isTTY: true,
      });
      progress.onEvent({ type: "iteration_start", depth: 0, iteration: 2, maxIterations: 10 });
      // Redraws are at most ten a second.
      vi.setSystemTime(Date.now() + 150);
      progress.onEvent({ type: "root_delta", depth: 0, iteration: 2, receivedChars: 1234 });
      expect(screen).toContain("iteration 2/10 · root model writing (1234 chars)");
    } finally {
      vi.useRealTimers();
    }
  });
});
