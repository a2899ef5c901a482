import { readFile } from "node:fs/promises";
import { runInNewContext } from "node:vm";
import { MemoryJournal } from "@rlm/core";
import type { AnalysisView } from "@rlm/queue";
import { describe, expect, it } from "vitest";
import { jsonForScript } from "../src/html-escape.js";
import { buildTrajectory, type Trajectory } from "../src/index.js";
import { FakeDocument, type FakeElement } from "./fake-dom.js";
import { SAMPLE_KEYS, sampleResult, writeSampleJournal } from "./fixtures.js";

const SCRIPT = await readFile(new URL("../assets/viewer.js", import.meta.url), "utf8");
const HOSTILE = `<img src=x onerror="alert(1)">`;

const baseView: AnalysisView = {
  id: "an_script",
  status: "running",
  query: `Query ${HOSTILE}`,
  progress: {
    iteration: 2,
    maxIterations: 8,
    subCallsDone: 3,
    subCallsTotal: 4,
    inputTokens: 1234,
    outputTokens: 56,
    costUsd: 0.0042,
  },
  cancelRequested: false,
  createdAt: "2025-01-01T00:00:00.000Z",
  updatedAt: "2025-01-01T00:00:05.000Z",
};

async function sampleTrajectory(view: AnalysisView): Promise<Trajectory> {
  const journal = new MemoryJournal();
  await writeSampleJournal(journal, HOSTILE);
  const entries = journal.entries().map(([key, record]) => ({ key, record }));
  return buildTrajectory(view, entries);
}

interface Harness {
  document: FakeDocument;
  timers: Array<() => void>;
  fetched: string[];
  element(id: string): FakeElement;
}

/** Runs the client script on a fake document; `fetch` answers with `next()`. */
function runScript(initial: Trajectory, next: () => Trajectory): Harness {
  const document = new FakeDocument(["rlm-data", "summary", "trajectory", "outcome", "notice"]);
  document.getElementById("rlm-data")!.textContent = jsonForScript(initial);
  const timers: Array<() => void> = [];
  const fetched: string[] = [];
  runInNewContext(SCRIPT, {
    document,
    setTimeout: (callback: () => void) => timers.push(callback),
    fetch: async (url: string) => {
      fetched.push(url);
      const text = JSON.stringify(next());
      return { ok: true, status: 200, text: async () => text };
    },
  });
  return { document, timers, fetched, element: (id) => document.getElementById(id)! };
}

/** Runs the one pending timer and lets its fetch settle. */
async function tick(harness: Harness): Promise<void> {
  const timer = harness.timers.shift();
  expect(timer, "a scheduled poll").toBeDefined();
  timer!();
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
}

describe("the viewer's client script", () => {
  it("draws the trajectory from the embedded JSON, data as text only", async () => {
    const harness = runScript(await sampleTrajectory(baseView), () => {
      throw new Error("no fetch expected");
    });
    const summary = harness.element("summary").textContent;
    expect(summary).toContain("2 / 8");
    expect(summary).toContain("3 done / 4 started");
    expect(summary).toContain("1,234 in · 56 out");
    expect(summary).toContain("$0.00420");

    const text = harness.element("trajectory").textContent;
    for (const expected of [
      "Iteration 1",
      "Cell 1.0",
      `Let me look.${HOSTILE}`,
      `printed${HOSTILE}`,
      "plain question",
      "plain answer",
      "Nested analysis",
      "inner turn",
      "deep answer",
      "(running)",
      "Last turn at the iteration limit",
      "FINAL(done)",
    ]) {
      expect(text).toContain(expected);
    }
    // Hostile markup stays a text node: no element was made from it.
    const tags = new Set([...harness.document.body.descendants()].map((el) => el.tagName));
    expect(tags.has("img")).toBe(false);
    expect(harness.element("outcome").textContent).toContain("Not finished yet.");
    expect(harness.timers).toHaveLength(1);
  });

  it("polls until a terminal status, keeping sections the user opened", async () => {
    const running = await sampleTrajectory(baseView);
    const completed = await sampleTrajectory({
      ...baseView,
      status: "completed",
      result: sampleResult(`Answer ${HOSTILE}`),
    });
    let answer = running;
    const harness = runScript(running, () => answer);
    const detailsFor = (key: string) =>
      harness.document
        .querySelectorAll("details[data-key]")
        .find((el) => el.getAttribute("data-key") === key);
    detailsFor(SAMPLE_KEYS.nestedSub)!.open = true;

    await tick(harness);
    expect(harness.fetched).toEqual(["../api/analyses/an_script/trajectory"]);
    expect(harness.timers).toHaveLength(1);

    answer = completed;
    await tick(harness);
    expect(detailsFor(SAMPLE_KEYS.nestedSub)!.open).toBe(true);
    expect(detailsFor(SAMPLE_KEYS.plainSub)!.open).toBe(false);
    const outcome = harness.element("outcome").textContent;
    expect(outcome).toContain(`Answer ${HOSTILE}`);
    expect(outcome).toContain("root-model");
    expect(outcome).toContain("sub-model");
    expect(harness.element("summary").textContent).toContain("completed");
    // Terminal: no further poll.
    expect(harness.timers).toHaveLength(0);
  });
});
