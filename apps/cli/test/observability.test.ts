// Metrics and traces of a real deployment: `rlm serve` and two `rlm worker` processes
// (one for root jobs, one for LM jobs, so every sub-call crosses processes), spawned
// through bin/rlm.js with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver
// on loopback and --metrics-port on each worker; real Redis under a unique prefix, the
// mock LLM over HTTP.
import { randomBytes } from "node:crypto";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sample } from "../../api/test/metrics-text.js";
import { deleteKeysWithPrefix } from "../src/redis.js";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from "./support/otlp-receiver.js";
import { cleanEnv, runCli, type TrackedCli, trackCli } from "./support/run-cli.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const TOKEN = "observability-test-token";
const ROOT_MODEL = "gpt-4.1-mini";
const SUB_MODEL = "gpt-4.1-nano";
const prefix = `rlm-cli-test-obs-${process.pid}-${randomBytes(3).toString("hex")}`;

let receiver: OtlpReceiver;
let mock: MockLlmServer;
const running: TrackedCli[] = [];

const env = (extra: Record<string, string> = {}) =>
  cleanEnv({
    REDIS_URL,
    RLM_PREFIX: prefix,
    OPENAI_API_KEY: "test-key",
    OPENAI_BASE_URL: mock.url,
    RLM_ROOT_MODEL: ROOT_MODEL,
    RLM_SUB_MODEL: SUB_MODEL,
    ...extra,
  });

/** Starts the CLI and returns it with the URL its ready line names under `field`. */
async function start(args: string[], ready: RegExp, field: string, extra = {}) {
  const cli = trackCli(args, env({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...extra }));
  running.push(cli);
  await cli.waitFor("stderr", ready, 40_000);
  const url = new RegExp(`"${field}":"([^"]+)"`).exec(cli.stderr)?.[1];
  if (!url) throw new Error(`no ${field} in: ${cli.stderr}`);
  return { cli, url };
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  mock = await startMockLlmServer({ strategy: "map-reduce", chunkChars: 20_000, latencyMs: 5 });
});

afterAll(async () => {
  for (const cli of running) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGKILL");
  }
  await mock?.stop();
  await receiver?.close();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return response.text();
}

describe("rlm serve + rlm worker --queues root + rlm worker --queues llm", () => {
  it("export one trace per analysis over OTLP and serve their metrics", async () => {
    const [api, rootWorker, llmWorker] = await Promise.all([
      start(["serve", "--port", "0", "--host", "127.0.0.1"], /API listening/, "url", {
        RLM_API_TOKEN: TOKEN,
      }),
      start(
        ["worker", "--queues", "root", "--metrics-port", "0", "--metrics-host", "127.0.0.1"],
        /worker ready/,
        "metrics",
      ),
      start(
        ["worker", "--queues", "llm", "--metrics-port", "0", "--metrics-host", "127.0.0.1"],
        /worker ready/,
        "metrics",
      ),
    ]);
    const auth = { authorization: `Bearer ${TOKEN}` };

    // A caller with a trace of its own: the analysis joins it.
    const callerTrace = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const document = Array.from(
      { length: 2_000 },
      (_, line) => `line ${line}: shipment ${line % 7 === 0 ? "INC-7731" : "routine"} audit`,
    ).join("\n");
    const posted = await fetch(`${api.url}/v1/analyses`, {
      method: "POST",
      headers: {
        ...auth,
        "content-type": "application/json",
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
      body: JSON.stringify({
        query: 'How many times does "INC-7731" appear?',
        context: document,
      }),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    let status = "";
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const view = await fetch(`${api.url}/v1/analyses/${id}`, { headers: auth });
      status = ((await view.json()) as { status: string }).status;
      if (status === "completed" || status === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe("completed");
    const rootCalls = mock.requests().filter((request) => request.kind !== "sub").length;
    const subCalls = mock.requests().filter((request) => request.kind === "sub").length;
    expect(subCalls).toBeGreaterThan(2);

    // Metrics: each process counts what it did.
    const rootText = await scrape(rootWorker.url);
    const root = { model: ROOT_MODEL, role: "root", outcome: "ok" };
    expect(sample(rootText, "rlm_model_calls_total", root)).toBe(rootCalls);
    expect(
      sample(rootText, "rlm_analyses_finished_total", {
        status: "completed",
        finish_reason: "final",
      }),
    ).toBe(1);
    expect(sample(rootText, "rlm_sub_calls_total", { source: "executed", outcome: "ok" })).toBe(
      subCalls,
    );
    expect(sample(rootText, "rlm_analysis_cost_usd_count", { status: "completed" })).toBe(1);
    const llmText = await scrape(llmWorker.url);
    expect(
      sample(llmText, "rlm_model_calls_total", { model: SUB_MODEL, role: "sub", outcome: "ok" }),
    ).toBe(subCalls);
    expect(sample(llmText, "rlm_llm_jobs_taken_total")).toBe(subCalls);
    expect(
      sample(llmText, "rlm_sub_call_tries_total", { lane: "job", outcome: "answered", code: "" }),
    ).toBe(subCalls);
    expect(
      sample(llmText, "rlm_model_tokens_total", { model: SUB_MODEL, role: "sub", type: "input" }),
    ).toBeGreaterThan(document.length / 5);
    expect(sample(llmText, "process_resident_memory_bytes")).toBeGreaterThan(0);
    const apiText = await scrape(`${api.url}/metrics`, auth);
    expect(sample(apiText, "rlm_analyses_enqueued_total", { deduplicated: "false" })).toBe(1);
    expect(sample(apiText, "rlm_queue_jobs", { queue: "rlm-llm", state: "completed" })).toBe(
      subCalls,
    );
    expect(sample(apiText, "rlm_queue_workers", { queue: "rlm-llm" })).toBe(1);
    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);

    // Traces: the processes send what they still hold as they stop.
    for (const { cli } of [api, rootWorker, llmWorker]) cli.child.kill("SIGTERM");
    for (const { cli } of [api, rootWorker, llmWorker])
      expect((await cli.exited(40_000)).code).toBe(0);
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request).toEqual({ path: "/v1/traces", contentType: "application/json" });
    }
    const spans = receiver.spans.filter((span) => span.traceId === callerTrace);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const parent = (span: ReceivedSpan) => byId.get(span.parentSpanId ?? "");
    const named = (name: string) => spans.filter((span) => span.name === name);
    // Every span about the analysis is in the caller's trace.
    expect(
      receiver.spans.filter(
        (span) => span.attributes["rlm.analysis.id"] === id && span.traceId !== callerTrace,
      ),
    ).toEqual([]);

    const [request, ...moreRequests] = named("POST /v1/analyses");
    expect(moreRequests).toEqual([]);
    expect(request).toMatchObject({ service: "rlm-api", kind: 2, parentSpanId: callerSpan });
    expect(request?.attributes["http.response.status_code"]).toBe(202);
    const [enqueue] = named("rlm.enqueue");
    expect(parent(enqueue!)).toBe(request);
    expect(enqueue?.attributes["rlm.analysis.id"]).toBe(id);
    const [run, ...moreRuns] = named("rlm.run");
    expect(moreRuns).toEqual([]);
    expect(run).toMatchObject({ service: "rlm-worker", kind: 5 });
    expect(parent(run!)).toBe(enqueue);

    const turns = named("rlm.root_turn");
    expect(turns).toHaveLength(rootCalls);
    for (const turn of turns) {
      expect(parent(turn)).toBe(run);
      const [chat] = spans.filter((span) => parent(span) === turn);
      expect(chat).toMatchObject({ name: `chat ${ROOT_MODEL}`, kind: 3, instance: run!.instance });
      expect(chat?.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
      expect(chat?.attributes["rlm.cost_usd"]).toBeGreaterThan(0);
    }
    const cells = named("rlm.cell");
    for (const cell of cells) expect(parent(cell)).toBe(run);
    const subCallSpans = named("rlm.sub_call");
    expect(subCallSpans).toHaveLength(subCalls);
    for (const subCall of subCallSpans) {
      expect(cells).toContain(parent(subCall));
      expect(subCall.attributes["rlm.sub_call.source"]).toBe("executed");
      expect(subCall.attributes["gen_ai.response.model"]).toBe(SUB_MODEL);
      expect(subCall.attributes["rlm.cost_usd"]).toBeGreaterThan(0);
      // Made in the other worker process: its span there is the sub-call's child.
      const [call, ...more] = spans.filter(
        (span) => span.name === "rlm.llm_call" && parent(span) === subCall,
      );
      expect(more).toEqual([]);
      expect(call).toMatchObject({ service: "rlm-worker", kind: 5 });
      expect(call?.instance).not.toBe(run?.instance);
      expect(call?.attributes["rlm.sub_call.key"]).toBe(subCall.attributes["rlm.sub_call.key"]);
      const [chat] = spans.filter((span) => parent(span) === call);
      expect(chat).toMatchObject({ name: `chat ${SUB_MODEL}`, instance: call!.instance });
      expect(chat?.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    }
  });

  it("refuses a metrics port that is taken: exit 2, a message, no stack trace", async () => {
    const taken = new URL(receiver.endpoint).port;
    const run = await runCli(
      ["worker", "--metrics-port", taken, "--metrics-host", "127.0.0.1"],
      env(),
      40_000,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot serve metrics on 127.0.0.1:${taken}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
