// Figure 1's floor: the wall time of the in-process analysis divided by that of a bare
// client sending the same calls (plain node:http, support/bare-client.ts) to the same
// mock in the same run, in pairs taken alternately, at N=100, C=50 and at N=1000, C=100;
// after each pair, the same analysis in process on a model client of plain node:http
// (support/plain-model-client.ts): what the engine costs without the openai SDK.
import type { ModelClient } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { Rlm } from "rlm-queue";
import { BareClient, type CallGroups, recordingClient } from "./support/bare-client.js";
import { plainModelClient } from "./support/plain-model-client.js";
import { type BenchContext, type FigureRow, fmt, MOCK_MODELS } from "./support/bench-context.js";
import {
  chunkCount,
  documentForChunks,
  querySubject,
  type TestDocument,
} from "./support/documents.js";
import { makeDocument } from "../test/support/documents.js";
import { median, round } from "./support/stats.js";

/** What the in-process path may cost over the bare client (issue 16). */
const GOAL_RATIO = 1.05;

/** One comparison: an analysis of `n` sub-calls at `concurrency`, the mock at `latencyMs`. */
export interface FloorSpec {
  n: number;
  concurrency: number;
  latencyMs: number;
  chunkChars: number;
  /** Measured pairs (in process, bare), taken alternately. */
  reps: number;
  /** The analysis's document (made for `n` chunks when not given). */
  document?: TestDocument;
}

/** One measured pair (and, taken with it, the engine on a plain node:http client). */
export interface FloorPair {
  inProcessMs: number;
  bareMs: number;
  /** inProcessMs / bareMs. */
  ratio: number;
  /** The same analysis in process on a model client of plain node:http, no SDK. */
  plainClientMs: number;
  answerOk: boolean;
}

export interface FloorResult {
  spec: Omit<FloorSpec, "document">;
  /** Root turns and fan-outs of the analysis, as the bare client sends them. */
  groups: number[];
  idealMs: number;
  pairs: FloorPair[];
  inProcessMedianMs: number;
  bareMedianMs: number;
  /** Median of the pairs' ratios. */
  ratio: number;
  /** Median of plainClientMs / bareMs over the pairs. */
  plainClientRatio: number;
}

/** Analyses at L=0 on each path before the measured ones, as figure 1 does (fan-out.ts). */
const WARM_UPS = 3;

/** What a comparison needs of the bench: the mock process and the log. */
type FloorBench = Pick<BenchContext, "mock" | "log">;

export async function compareWithBare(bench: FloorBench, spec: FloorSpec): Promise<FloorResult> {
  const { n, concurrency, latencyMs, chunkChars } = spec;
  const document = spec.document ?? documentOfChunks(n, chunkChars);
  const groups = await recordCalls(bench, document, spec);
  const subCalls = groups.filter(isSub).flat().length;
  if (subCalls !== n) throw new Error(`expected ${n} sub-calls, the analysis made ${subCalls}`);
  const bare = new BareClient(bench.mock.url);
  const plain = plainModelClient(bench.mock.url);
  try {
    for (let warm = 0; warm < WARM_UPS; warm += 1) {
      await inProcess(bench, document, spec, 0);
      await inProcess(bench, document, spec, 0, plain);
      await bareRun(bench, bare, groups, spec, 0);
    }
    const pairs: FloorPair[] = [];
    for (let rep = 0; rep < spec.reps; rep += 1) {
      // Alternately first, so that neither path always runs on the warmer machine.
      let inProcessRun: { wallMs: number; answerOk: boolean };
      let bareMs: number;
      if (rep % 2 === 0) {
        inProcessRun = await inProcess(bench, document, spec, latencyMs);
        bareMs = await bareRun(bench, bare, groups, spec, latencyMs);
      } else {
        bareMs = await bareRun(bench, bare, groups, spec, latencyMs);
        inProcessRun = await inProcess(bench, document, spec, latencyMs);
      }
      // After the pair, so that the pair itself is taken as before.
      const plainRun = await inProcess(bench, document, spec, latencyMs, plain);
      const pair = {
        inProcessMs: round(inProcessRun.wallMs),
        bareMs: round(bareMs),
        ratio: round(inProcessRun.wallMs / bareMs, 3),
        plainClientMs: round(plainRun.wallMs),
        answerOk: inProcessRun.answerOk && plainRun.answerOk,
      };
      pairs.push(pair);
      bench.log(
        `  N=${n} C=${concurrency}: in process ${Math.round(pair.inProcessMs)} ms, bare client ${Math.round(pair.bareMs)} ms: ${fmt(pair.ratio, 3)}×; on a plain node:http client ${Math.round(pair.plainClientMs)} ms${pair.answerOk ? "" : " WRONG ANSWER"}`,
      );
    }
    return {
      spec: { n, concurrency, latencyMs, chunkChars, reps: spec.reps },
      groups: groups.map((group) => group.length),
      idealMs: groups.reduce(
        (sum, group) => sum + Math.ceil(group.length / concurrency) * latencyMs,
        0,
      ),
      pairs,
      inProcessMedianMs: median(pairs.map((pair) => pair.inProcessMs)),
      bareMedianMs: median(pairs.map((pair) => pair.bareMs)),
      ratio: median(pairs.map((pair) => pair.ratio)),
      plainClientRatio: round(median(pairs.map((pair) => pair.plainClientMs / pair.bareMs)), 3),
    };
  } finally {
    bare.close();
    plain.close();
  }
}

/** Figure 1's rows of the comparisons; `queueWallMs`: figure 1's queue median at N=100. */
export function floorRows(results: FloorResult[], queueWallMs: number | undefined): FigureRow[] {
  const rows: FigureRow[] = [];
  for (const result of results) {
    const { n, concurrency, latencyMs, reps } = result.spec;
    const median = reps > 1 ? `, medians of ${reps} pairs` : "";
    rows.push({
      figure: "1 fan-out",
      metric: `in-process ÷ bare client, the same calls with plain node:http (N=${n}, C=${concurrency}, L=${latencyMs}ms; wall ${Math.round(result.inProcessMedianMs)} / ${Math.round(result.bareMedianMs)} ms${median})`,
      value: `${fmt(result.ratio, 3)}×`,
      goal: `≤ ${GOAL_RATIO}×`,
      pass: result.ratio <= GOAL_RATIO && result.pairs.every((pair) => pair.answerOk),
    });
    rows.push({
      figure: "1 fan-out",
      metric: `in-process on a model client of plain node:http (no openai SDK) ÷ bare client: what the engine costs without the SDK (N=${n}, C=${concurrency}${median})`,
      value: `${fmt(result.plainClientRatio, 3)}×`,
      goal: "",
    });
    rows.push({
      figure: "1 fan-out",
      metric: `bare client:   against the ideal schedule (N=${n}, C=${concurrency}; ideal ${result.idealMs} ms)`,
      value: fmt(result.idealMs / result.bareMedianMs),
      goal: "",
    });
  }
  const first = results[0];
  if (first && queueWallMs !== undefined) {
    rows.push({
      figure: "1 fan-out",
      metric: `queue ÷ bare client (N=${first.spec.n}, C=${first.spec.concurrency}; figure 1's queue wall ${Math.round(queueWallMs)} ms)`,
      value: `${fmt(queueWallMs / first.bareMedianMs, 3)}×`,
      goal: "",
    });
  }
  return rows;
}

/** What an in-process analysis is run with: its sub-call slots and the mock's chunks. */
type AnalysisShape = Pick<FloorSpec, "concurrency" | "chunkChars">;

/**
 * One analysis at L=0 through a recording client: the calls the bare client replays
 * (figures 1 and 8).
 */
export async function recordCalls(
  bench: FloorBench,
  document: TestDocument,
  spec: AnalysisShape,
): Promise<CallGroups> {
  await bench.mock.reset({ latencyMs: 0, strategy: "map-reduce", chunkChars: spec.chunkChars });
  const model = recordingClient(
    createOpenAIModelClient({
      baseURL: bench.mock.url,
      apiKey: "bench",
      retry: { maxAttempts: 1 },
    }),
    MOCK_MODELS.subModel,
  );
  const rlm = new Rlm({ modelClient: model, ...MOCK_MODELS, subConcurrency: spec.concurrency });
  await rlm.completion(querySubject(document), document.text);
  return model.groups();
}

/**
 * As figure 1's in-process run (fan-out.ts), on our model client or on `modelClient`
 * (figures 1 and 8).
 */
export async function inProcess(
  bench: FloorBench,
  document: TestDocument,
  spec: AnalysisShape,
  latencyMs: number,
  modelClient?: ModelClient,
): Promise<{ wallMs: number; answerOk: boolean }> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: spec.chunkChars });
  const rlm = new Rlm({
    ...(modelClient
      ? { modelClient }
      : { baseURL: bench.mock.url, apiKey: "bench", maxAttempts: 1 }),
    ...MOCK_MODELS,
    subConcurrency: spec.concurrency,
  });
  const started = performance.now();
  const result = await rlm.completion(querySubject(document), document.text);
  const wallMs = performance.now() - started;
  return { wallMs, answerOk: result.answer.trim() === String(document.markerCount) };
}

async function bareRun(
  bench: FloorBench,
  bare: BareClient,
  groups: CallGroups,
  spec: FloorSpec,
  latencyMs: number,
): Promise<number> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: spec.chunkChars });
  return bare.replay(groups, spec.concurrency);
}

/**
 * A document the mock's map-reduce cuts into exactly `chunks` sub-calls. Figure 1's own
 * search (documentForChunks) steps down from 98.5 % of chunks × chunkChars; a thousand
 * chunks need ~98.9 %, so its size is bisected here when that fails.
 */
function documentOfChunks(chunks: number, chunkChars: number): TestDocument {
  try {
    return documentForChunks(chunks, chunkChars);
  } catch {
    let low = Math.floor(chunks * chunkChars * 0.9);
    let high = chunks * chunkChars;
    while (low < high) {
      const chars = Math.floor((low + high) / 2);
      const document = makeDocument({ chars, markerCount: chunks, seed: 11 });
      const count = chunkCount(document.text, chunkChars);
      if (count === chunks) return document;
      if (count < chunks) low = chars + 1;
      else high = chars;
    }
    throw new Error(`could not size a document for ${chunks} chunks of ${chunkChars}`);
  }
}

function isSub(group: CallGroups[number]): boolean {
  return group[0]?.model === MOCK_MODELS.subModel;
}
