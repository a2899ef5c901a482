// The viewer and Bull Board in a real browser (Debian's chromium through playwright-core)
// on real fan-outs: real Redis, workers in this process (a root worker and two LM
// workers, as `--queues root` / `--queues llm` deploy them), the mock LLM over HTTP.
import type { SubCallRecord } from "@rlm/core";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import {
  AnalysisReporter,
  listJournalRecords,
  RedisJournal,
  RlmQueueClient,
  type RlmWorker,
  startRlmWorker,
} from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "../../../test/support/documents.js";
import type { Trajectory } from "../src/index.js";
import { launchChromium, screenshot, watchPage } from "./browser.js";
import { SAMPLE_KEYS, sampleResult, writeSampleJournal } from "./fixtures.js";
import {
  deleteKeysUnder,
  listen,
  REDIS_OPTIONS,
  TOKEN,
  testServer,
  uniquePrefix,
} from "./helpers.js";

const prefix = uniquePrefix("browser");
const connection = { host: "127.0.0.1", port: 6379 };
/** Markup that would run or render if any text reached the page as HTML. */
const MARKER = "<b>INC-7731</b>";
const NEEDLE = `<img src=x onerror="document.title='pwned'">`;
/** Ends a script element and starts one; an image whose error handler sets a flag. */
const HOSTILE = `</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">`;

/** Model latency: a fan-out of 60 calls over 16 call slots then lasts about two seconds. */
const LATENCY_MS = 250;
const JITTER_MS = 300;

let mock: MockLlmServer;
let app: FastifyInstance;
let base: string;
let client: RlmQueueClient;
let redis: Redis;
let browser: Browser;
const workers: RlmWorker[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  // Latency and jitter make a fan-out last a second or two, so it can be watched live.
  mock = await startMockLlmServer({
    latencyMs: LATENCY_MS,
    jitterMs: JITTER_MS,
    chunkChars: 10_000,
    seed: 7,
  });
  app = testServer(prefix);
  base = await listen(app);
  client = new RlmQueueClient({ connection, prefix });
  redis = new Redis(REDIS_OPTIONS);
  const common = {
    connection,
    prefix,
    model: { baseURL: mock.url, apiKey: "test-key", maxAttempts: 4 },
    // Priced names (the mock answers any), so the page has costs to show.
    defaults: { rootModel: "gpt-4.1", subModel: "gpt-4.1-mini" },
  };
  workers.push(
    await startRlmWorker({ ...common, name: "root-1", roles: ["root"] }),
    await startRlmWorker({ ...common, name: "llm-1", roles: ["llm"], concurrency: { llm: 8 } }),
    await startRlmWorker({ ...common, name: "llm-2", roles: ["llm"], concurrency: { llm: 8 } }),
  );
});

afterAll(async () => {
  await browser?.close();
  for (const worker of workers) await worker.close({ timeoutMs: 5_000 });
  await app?.close();
  await client?.close();
  await mock?.stop();
  await redis?.quit();
  await deleteKeysUnder(prefix);
});

async function enqueue(query: string, context: string, options: object = {}): Promise<string> {
  const response = await fetch(`${base}/v1/analyses`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ query, context, options }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function trajectoryOf(id: string): Promise<Trajectory> {
  const response = await fetch(`${base}/admin/api/analyses/${id}/trajectory`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return (await response.json()) as Trajectory;
}

/** A page signed in through `?token=` (the cookie then covers the viewer and Bull Board). */
async function openPage(path: string, height = 1000): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height } });
  await page.goto(`${base}${path}${path.includes("?") ? "&" : "?"}token=${TOKEN}`);
  return page;
}

async function journaledCalls(id: string): Promise<Map<string, SubCallRecord>> {
  const entries = await listJournalRecords(redis, id, { prefix });
  const calls = new Map<string, SubCallRecord>();
  for (const { key, record } of entries) {
    if (record.kind === "sub" && !key.includes("/")) calls.set(key, record);
  }
  return calls;
}

describe("a fan-out through the queue, in the browser", () => {
  let id: string;
  let page: Page;
  let watched: ReturnType<typeof watchPage>;

  it("is drawn live: pending calls on the timeline, figures moving as each call is journaled", async () => {
    // A few calls fail once at the provider and are retried by the model client.
    mock.configure({ faults: { serverErrorRate: 0.06 }, faultKinds: ["sub"] });
    const text = makeDocument({
      chars: 600_000,
      markerCount: 53,
      marker: MARKER,
      needle: NEEDLE,
    });
    id = await enqueue(`How many times does "${MARKER}" appear?`, text.text);
    // What the page polls, sampled while the fan-out runs: it must move call by call, not
    // at the end of the cell.
    const sampling = sampleFigures(id);
    page = await openPage(`/admin/viewer/${id}`);
    watched = watchPage(page, base);
    // Calls still running or queued are drawn, striped, while the analysis runs.
    await page.waitForSelector("#timeline .tl-mini.tl-live", { timeout: 20_000 });
    // The picture is taken mid-way, with calls answered, running and queued side by side
    // (if the fan-out is over by then, it shows what is left).
    await expect
      .poll(() => calls(page).then(({ done, started }) => done >= started / 3), {
        timeout: 10_000,
      })
      .toBe(true)
      .catch(() => undefined);
    await screenshot(page, "running-fan-out");
    const { doneCounts, costRises } = await sampling;
    expect(doneCounts, "distinct 'done' counts while the cell ran").toBeGreaterThanOrEqual(3);
    expect(costRises, "times the cost rose while the cell ran").toBeGreaterThanOrEqual(3);

    const result = await client.waitForResult(id, { timeoutMs: 30_000 });
    mock.configure({ faults: { serverErrorRate: 0 }, faultKinds: null });
    expect(result.answer.trim()).toBe("53");
    await page.waitForSelector("#figures .badge.status-completed", { timeout: 10_000 });
    const done = await trajectoryOf(id);
    // At the end the journal's sums are the result's.
    expect(done.figures.usage.inputTokens).toBe(result.usage.inputTokens);
    expect(done.figures.usage.outputTokens).toBe(result.usage.outputTokens);
    expect(done.figures.usage.costUsd).toBeCloseTo(result.usage.costUsd!, 9);
    expect(await page.textContent("#figures")).toContain(`$${result.usage.costUsd!.toFixed(4)}`);
    await screenshot(page, "finished-fan-out");
  });

  it("has one bar per journaled call, coloured by its outcome, each opening its details", async () => {
    const calls = await journaledCalls(id);
    expect(calls.size).toBeGreaterThan(30);
    const bars = await page.$$eval("#timeline .tl-mini", (nodes) =>
      nodes.map((node) => ({ key: node.getAttribute("data-key"), className: node.className })),
    );
    expect(new Set(bars.map((bar) => bar.key))).toEqual(new Set(calls.keys()));
    let retried = 0;
    for (const bar of bars) {
      const record = calls.get(bar.key!)!;
      expect(bar.className).toContain(record.error ? "state-error" : "state-ok");
      // A call the client had to retry is marked so.
      expect(bar.className.includes("retried"), bar.key!).toBe((record.attempts ?? 1) > 1);
      if ((record.attempts ?? 1) > 1) retried += 1;
    }
    expect(retried, "calls retried after an injected provider error").toBeGreaterThan(0);

    // Click through to one call: its details are the journal's, with the worker that ran it.
    const trajectory = await trajectoryOf(id);
    const call = trajectory.root.iterations[1]!.cells[0]!.subCalls[4]!;
    await page.click(`#timeline .tl-mini[data-key="${call.key}"]`);
    const details = page.locator("#details");
    await details.waitFor({ state: "visible" });
    const text = (await details.textContent()) ?? "";
    expect(text).toContain(`Sub-call #5 of cell 2.0`);
    expect(text).toContain(calls.get(call.key)!.query);
    expect(text).toContain(`Answer${calls.get(call.key)!.answer}`);
    expect(text).toContain(call.job!.worker!);
    expect(["llm-1", "llm-2"]).toContain(call.job!.worker);
    expect(text).toContain(`chars ${call.slice!.start.toLocaleString("en")}–`);
    // The row of the same call is selected in the table.
    expect(await page.getAttribute(`#calls tr[data-key="${call.key}"]`, "class")).toContain(
      "selected",
    );
    // j walks to the next step.
    await page.keyboard.press("j");
    await expect.poll(() => details.textContent()).toContain("Sub-call #6 of cell 2.0");
  });

  it("searches queries, document slices and answers", async () => {
    const trajectory = await trajectoryOf(id);
    const all = trajectory.root.iterations.flatMap((it) => it.cells.flatMap((c) => c.subCalls));
    // A word that starts one chunk's text: the search must find it there and not everywhere.
    const needle = (all[7]!.preview ?? "").split(" ").slice(0, 3).join(" ").toLowerCase();
    const expected = all.filter((sub) =>
      [sub.query, sub.answer, sub.preview].some((f) => f?.toLowerCase().includes(needle)),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    await page.fill("#calls-search", needle);
    await expect.poll(() => page.locator("#calls tr.call").count()).toBe(expected.length);
    const shown = await page.$$eval("#calls tr.call", (rows) =>
      rows.map((r) => r.getAttribute("data-key")),
    );
    expect(new Set(shown)).toEqual(new Set(expected.map((sub) => sub.key)));
    expect(await page.locator("#calls mark").count()).toBeGreaterThan(0);
    await screenshot(page, "sub-call-details");
  });

  it("shows markup from the document, the query, the model's code and the output as text", async () => {
    // The query and the document hold markup; the model's code quotes the query's term
    // and the first cell prints the document's head.
    const injected = await page.locator("body img, body b, body [onerror]").count();
    expect(injected).toBe(0);
    expect(await page.title()).not.toBe("pwned");
    expect(await page.textContent("#query")).toContain(MARKER);
    expect(await page.textContent("#trajectory")).toContain(MARKER);
    await page.fill("#calls-search", "");
    expect(await page.textContent("#calls")).toContain(MARKER.slice(0, 3));
    expect(watched.errors).toEqual([]);
    expect(watched.foreign).toEqual([]);
    await page.close();
  });
});

describe("markup in every text of a journal, in the browser", () => {
  it("is shown as text in the timeline, the table, the details, the steps and the result", async () => {
    // A server of its own, with no worker: the analysis stays as the journal writes it.
    const quietPrefix = uniquePrefix("browser-quiet");
    const quiet = testServer(quietPrefix);
    const quietBase = await listen(quiet);
    try {
      const response = await fetch(`${quietBase}/v1/analyses`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ query: `Who <b>wins</b>? ${HOSTILE}`, context: HOSTILE }),
      });
      const { id } = (await response.json()) as { id: string };
      await writeSampleJournal(
        new RedisJournal({ redis, analysisId: id, prefix: quietPrefix }),
        HOSTILE,
      );
      const reporter = new AnalysisReporter({ redis, analysisId: id, prefix: quietPrefix });
      await reporter.running();
      await reporter.complete(sampleResult(`The answer ${HOSTILE}`));

      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const watched = watchPage(page, quietBase);
      await page.goto(`${quietBase}/admin/viewer/${id}?token=${TOKEN}`);
      await page.waitForSelector("#figures .badge.status-completed");
      // Open the nested analysis, and the details of the plain call and of the nested one.
      await page.click(`#timeline [data-toggle="${SAMPLE_KEYS.nestedSub}"]`);
      await page.click(`#calls tr[data-key="${SAMPLE_KEYS.plainSub}"]`);
      expect(await page.textContent("#details")).toContain("plain answer");
      await page.click(`#calls tr[data-key="${SAMPLE_KEYS.nestedSub}"]`);
      const details = (await page.textContent("#details")) ?? "";
      expect(details).toContain("nested answer");
      for (const where of ["#query", "#trajectory", "#outcome"]) {
        expect(await page.textContent(where), where).toContain(HOSTILE);
      }
      expect(await page.textContent("#trajectory")).toContain(`printed${HOSTILE}`);
      // No element or handler was made from the data; nothing ran.
      expect(await page.locator("body img, body [onerror], body b").count()).toBe(0);
      expect(await page.evaluate("window.pwned")).toBeUndefined();
      expect(watched.errors).toEqual([]);
      await page.close();
    } finally {
      await quiet.close();
      await deleteKeysUnder(quietPrefix);
    }
  });
});

describe("a nested analysis (maxDepth 2) in the browser", () => {
  it("draws each nested analysis as a row that opens into its own turns, cells and calls", async () => {
    const document = makeDocument({ chars: 60_000, markerCount: 3, sections: 4 });
    const id = await enqueue("Summarize the report", document.text, { maxDepth: 2 });
    await client.waitForResult(id, { timeoutMs: 30_000 });
    const page = await openPage(`/admin/viewer/${id}`);
    const trajectory = await trajectoryOf(id);
    const nested = trajectory.root.iterations
      .flatMap((it) => it.cells.flatMap((c) => c.subCalls))
      .filter((sub) => sub.nested);
    expect(nested.length).toBeGreaterThanOrEqual(4);
    const open = nested[1]!;
    await page.click(`#timeline [data-toggle="${open.key}"]`);
    // The nested analysis's own rows: its turns and cells, keyed under the call.
    const rows = await page.$$eval("#timeline .tl-row[data-row]", (nodes) =>
      nodes.map((node) => node.getAttribute("data-row") ?? ""),
    );
    const inner = rows.filter((row) => row.startsWith(`${open.key}/`));
    expect(inner).toContain(`${open.key}/root:1`);
    expect(inner.some((row) => row.startsWith(`${open.key}/cell:`))).toBe(true);
    await page.click(`#timeline .tl-bar[data-key="${open.key}/root:1"]`);
    expect(await page.textContent("#details")).toContain("Model reply");
    await page.keyboard.press("Escape");
    await screenshot(page, "nested-analysis");
    await page.close();
  });
});

describe("cancelling from the page", () => {
  it("asks for confirmation, then stops the analysis", async () => {
    // Slow model: the analysis is still running when the button is pressed.
    mock.configure({ latencyMs: 1_500, jitterMs: 0 });
    try {
      const document = makeDocument({ chars: 200_000, markerCount: 5 });
      const id = await enqueue('How many times does "INC-7731" appear?', document.text);
      const page = await openPage(`/admin/viewer/${id}`);
      await page.waitForSelector("#cancel:not([hidden])");
      await page.click("#cancel");
      await page.waitForSelector("#cancel-dialog[open]");
      await page.click("#cancel-confirm");
      await page.waitForSelector("#figures .badge.status-cancelled", { timeout: 20_000 });
      expect((await client.getAnalysis(id))?.status).toBe("cancelled");
      expect(await page.isHidden("#cancel")).toBe(true);
      await page.close();
    } finally {
      mock.configure({ latencyMs: LATENCY_MS, jitterMs: JITTER_MS });
    }
  });
});

describe("the list page and Bull Board in the browser", () => {
  it("lists analyses newest first with their figures, filters by status, refreshes itself", async () => {
    // One analysis still running (a slow model), so the list has every kind of row.
    mock.configure({ latencyMs: 4_000, jitterMs: 0 });
    const running = await enqueue("Which carrier is mentioned most often?", "carrier A, carrier B");
    try {
      const page = await openPage("/admin/viewer", 420);
      const rows = page.locator("table.analyses tbody tr");
      expect(await rows.count()).toBeGreaterThanOrEqual(4);
      const headers = await page.$$eval("table.analyses th", (cells) =>
        cells.map((c) => c.textContent),
      );
      expect(headers).toEqual([
        "Status",
        "Query",
        "Finish",
        "Duration",
        "Cost",
        "Sub-calls",
        "Created",
      ]);
      const runningRow = page.locator(`tr:has(a[href="viewer/${running}"])`);
      await expect.poll(() => runningRow.getAttribute("data-status")).toMatch(/queued|running/);
      await screenshot(page, "analyses-list");
      // Cancelled elsewhere: the open page shows it on its own.
      await client.cancel(running);
      await expect
        .poll(() => runningRow.getAttribute("data-status"), { timeout: 15_000 })
        .toBe("cancelled");
      await page.click("a.chip[href='viewer?status=completed']");
      await page.waitForURL(/status=completed/);
      const statuses = await page.$$eval("table.analyses tbody tr", (trs) =>
        trs.map((tr) => tr.getAttribute("data-status")),
      );
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(new Set(statuses)).toEqual(new Set(["completed"]));
      await page.close();
    } finally {
      mock.configure({ latencyMs: LATENCY_MS, jitterMs: JITTER_MS });
    }
  });

  it("opens an analysis's job tree in Bull Board from the viewer, without any other host", async () => {
    const id = await firstCompleted();
    const page = await openPage(`/admin/viewer/${id}`);
    const watched = watchPage(page, base);
    const response = page.waitForResponse((r) => r.url().includes(`/admin/queues/queue/`));
    await page.click("a.button:has-text('Jobs in Bull Board')");
    expect((await response).headers()["content-security-policy"]).toContain("default-src 'self'");
    await page.waitForSelector(`text=Trajectory of ${id}`, { timeout: 15_000 });
    await page.waitForSelector("text=Job flow", { timeout: 15_000 });
    await screenshot(page, "bull-board", true);
    expect(watched.foreign).toEqual([]);
    expect(watched.errors).toEqual([]);
    // And back: the job links to its trajectory.
    const back = await page.getAttribute(`a:has-text("Trajectory of ${id}")`, "href");
    expect(back).toBe(`/admin/viewer/${id}`);
    await page.close();
  });
});

/** The "Sub-calls  done / started" figure as the page shows it. */
async function calls(page: Page): Promise<{ done: number; started: number }> {
  const text = (await page.textContent("#figures .figure:nth-child(2) .value")) ?? "0 / 0";
  const [done, started] = text.split("/").map((part) => Number(part.replace(/\D/g, "")));
  return { done: done ?? 0, started: started ?? 0 };
}

/**
 * Polls the trajectory JSON while the fan-out's cell (2.0) runs; returns how many
 * distinct "done" counts and cost rises it saw then.
 */
async function sampleFigures(id: string): Promise<{ doneCounts: number; costRises: number }> {
  const done = new Set<number>();
  let costRises = 0;
  let lastCost = 0;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const live = await trajectoryOf(id);
    const cell = live.root.iterations.find((it) => it.iteration === 2)?.cells[0];
    if (live.terminal || cell?.pending === false) break;
    if (cell?.pending) {
      done.add(live.figures.subCalls.done);
      const cost = live.figures.usage.costUsd ?? 0;
      if (cost > lastCost && lastCost > 0) costRises += 1;
      lastCost = cost;
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  return { doneCounts: done.size, costRises };
}

async function firstCompleted(): Promise<string> {
  const page = await openPage("/admin/viewer?status=completed");
  const href = await page.getAttribute("table.analyses tbody tr a", "href");
  await page.close();
  return decodeURIComponent(String(href).replace(/^viewer\//, ""));
}
