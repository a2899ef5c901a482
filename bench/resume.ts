// Figure 5: resume cost. (a) Time to rebuild an analysis by replaying its Redis journal
// after k = 1, 5, 10 iterations on a 10 MB context (new machine, new isolate, document
// loaded, every cell re-run with journaled sub-call answers, no model call), as the root
// processor does on a resume in another process. (b) How often the live-REPL cache
// avoids that replay when root jobs resume from waiting-children, with 1 and 2 workers.
import { RedisJournal } from "@rlm/queue";
import { Rlm } from "rlm-queue";
import { type BenchContext, type FigureResult, fmt, MOCK_MODELS } from "./support/bench-context.js";
import { largeDocument } from "./support/documents.js";
import { scriptedRootModel } from "./support/scripted-root.js";
import { round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

const KS = [1, 5, 10];

export async function runResume(bench: BenchContext): Promise<FigureResult> {
  const document = largeDocument(10_000_000).text;
  const replays: Array<{
    k: number;
    firstRunMs: number;
    replayMs: number;
    modelCallsInReplay: number;
  }> = [];
  for (const k of KS) {
    const analysisId = `resume-k${k}-${Date.now().toString(36)}`;
    const journal = new RedisJournal({ redis: bench.redis, analysisId, prefix: bench.prefix });
    const firstStart = performance.now();
    const first = await new Rlm({
      modelClient: scriptedRootModel(k),
      ...MOCK_MODELS,
      maxIterations: k + 2,
    }).completion("What is in the context?", document, { journal, analysisId });
    const firstRunMs = performance.now() - firstStart;
    if (first.iterations !== k + 1 || first.replHistory.length !== k) {
      throw new Error(
        `k=${k}: expected ${k} code iterations, got ${first.replHistory.length} (${first.finishReason})`,
      );
    }
    // The replay gets a model that would count any call: a complete journal needs none.
    const replayModel = scriptedRootModel(k);
    const replayStart = performance.now();
    const replayed = await new Rlm({
      modelClient: replayModel,
      ...MOCK_MODELS,
      maxIterations: k + 2,
    }).completion("What is in the context?", document, {
      journal: new RedisJournal({ redis: bench.redis, analysisId, prefix: bench.prefix }),
      analysisId,
    });
    const replayMs = performance.now() - replayStart;
    if (replayed.answer !== first.answer) throw new Error(`replay of k=${k} answered differently`);
    replays.push({
      k,
      firstRunMs: round(firstRunMs),
      replayMs: round(replayMs),
      modelCallsInReplay: replayModel.calls,
    });
    bench.log(
      `  k=${k}: first run ${Math.round(firstRunMs)} ms, replay ${Math.round(replayMs)} ms, model calls in replay ${replayModel.calls}`,
    );
  }

  const cache: Array<{
    workers: number;
    /** Runs rebuilt from the journal after an earlier run of their job. */
    rebuilt: number;
    /** Times a run gave its slot up to wait for its children. */
    parked: number;
    analyses: number;
    /** Times a run went on after its children: once per fan-out. */
    continuations: number;
  }> = [];
  const analyses = bench.quick ? 2 : 4;
  const iterations = 10;
  for (const count of [1, 2]) {
    const workers = await Promise.all(
      Array.from({ length: count }, () =>
        WorkerProcess.start({
          prefix: bench.prefix,
          modelUrl: bench.mock.url,
          rootScript: iterations,
          rootConcurrency: 4,
        }),
      ),
    );
    try {
      await bench.mock.reset({ latencyMs: 20 });
      for (let index = 0; index < analyses; index += 1) {
        const { id } = await bench.client.enqueueAnalysis({
          query: `What is in part ${index}?`,
          context: document,
          options: { maxIterations: iterations + 2 },
        });
        await bench.client.waitForResult(id, { timeoutMs: 120_000 });
      }
      const stats = await Promise.all(workers.map((worker) => worker.stats()));
      const rebuilt = stats.reduce((sum, entry) => sum + entry.live.rebuilt, 0);
      const parked = stats.reduce((sum, entry) => sum + entry.live.parked, 0);
      cache.push({
        workers: count,
        rebuilt,
        parked,
        analyses,
        continuations: analyses * iterations,
      });
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  }

  const slope =
    ((replays.at(-1)?.replayMs ?? 0) - (replays[0]?.replayMs ?? 0)) /
    ((KS.at(-1) ?? 1) - (KS[0] ?? 0));
  const rows: FigureResult["rows"] = replays.map((entry) => ({
    figure: "5 resume",
    metric: `rebuild by replay after k=${entry.k} iterations, 10 MB context (replay / first run; ${entry.modelCallsInReplay} model calls)`,
    value: `${Math.round(entry.replayMs)} ms (${fmt(entry.replayMs / entry.firstRunMs)})`,
    goal: "0 model calls",
    pass: entry.modelCallsInReplay === 0,
  }));
  rows.push({
    figure: "5 resume",
    metric: "replay cost per extra iteration",
    value: `${fmt(slope, 1)} ms`,
    goal: "",
  });
  for (const entry of cache) {
    const live = entry.continuations - entry.rebuilt;
    const avoided = entry.continuations > 0 ? live / entry.continuations : Number.NaN;
    rows.push({
      figure: "5 resume",
      metric: `runs going on after their children without a replay, ${entry.workers} worker process(es) (${live} of ${entry.continuations}; ${entry.parked} gave their slot up; ${entry.analyses} analyses × ${iterations} fan-outs)`,
      value: fmt(avoided),
      goal: entry.workers === 1 ? "1.00" : "",
      ...(entry.workers === 1 ? { pass: avoided >= 0.99 } : {}),
    });
  }
  return { rows, data: { documentChars: document.length, replays, cache } };
}
