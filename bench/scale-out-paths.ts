// Figure 8's paths, each timed over the same analysis: the bare node:http client replaying
// its recorded calls, the analysis in process, and the analysis through a queue.
import type { RlmQueueClient } from "@rlm/queue";
import { makeDocument } from "../test/support/documents.js";
import { inProcess as analysisInProcess } from "./bare-floor.js";
import { BareClient, type CallGroups } from "./support/bare-client.js";
import type { BenchContext } from "./support/bench-context.js";
import { chunkCount, querySubject, type TestDocument } from "./support/documents.js";
import { round } from "./support/stats.js";

/** The mock's latency in the timed runs. */
export const L = 200;
/** Characters of the document per sub-call. */
export const CHUNK = 10_000;

/** The mock plays the fan-outs' map-reduce at `latencyMs` from now on. */
export function mapReduceAt(bench: BenchContext, latencyMs: number): Promise<void> {
  return bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: CHUNK });
}

/** `total` call slots over `count` workers, as evenly as they divide. */
export function splitSlots(total: number, count: number): number[] {
  return Array.from(
    { length: count },
    (_, index) => Math.floor(total / count) + (index < total % count ? 1 : 0),
  );
}

/** The same calls through figure 1's bare node:http client; the wall time in ms. */
export async function bare(
  bench: BenchContext,
  recorded: CallGroups,
  slots: number,
  latencyMs: number,
): Promise<number> {
  await mapReduceAt(bench, latencyMs);
  const client = new BareClient(bench.mock.url);
  try {
    return round(await client.replay(recorded, slots));
  } finally {
    client.close();
  }
}

/** The analysis in this process (no queue) at `slots` sub-call slots; the wall time in ms. */
export async function inProcess(
  bench: BenchContext,
  document: TestDocument,
  slots: number,
  latencyMs: number,
): Promise<number> {
  const run = await analysisInProcess(
    bench,
    document,
    { concurrency: slots, chunkChars: CHUNK },
    latencyMs,
  );
  if (!run.answerOk) {
    throw new Error(`wrong answer in process (expected ${document.markerCount})`);
  }
  return round(run.wallMs);
}

export async function queued(
  bench: BenchContext,
  client: RlmQueueClient,
  document: TestDocument,
  latencyMs: number,
) {
  await mapReduceAt(bench, latencyMs);
  const started = performance.now();
  const { id } = await client.enqueueAnalysis({
    query: querySubject(document),
    context: document.text,
  });
  const result = await client.waitForResult(id, { timeoutMs: 120_000 });
  const wallMs = performance.now() - started;
  if (result.answer.trim() !== String(document.markerCount)) {
    throw new Error(`wrong answer ${result.answer} (expected ${document.markerCount})`);
  }
  return round(wallMs);
}

/**
 * A document the mock's map-reduce cuts into exactly `chunks` sub-calls: as
 * `documentForChunks`, in finer steps (its steps miss 1,000 chunks).
 */
export function sizedDocument(chunks: number): TestDocument {
  for (let fill = 0.999; fill > 0.9; fill -= 0.001) {
    const document = makeDocument({
      chars: Math.floor(chunks * CHUNK * fill),
      markerCount: chunks,
      seed: 11,
    });
    if (chunkCount(document.text, CHUNK) === chunks) return document;
  }
  throw new Error(`could not size a document for ${chunks} chunks of ${CHUNK}`);
}
