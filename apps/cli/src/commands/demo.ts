import type { RlmResult } from "@rlm/core";
import { type DemoAnalysis, demoAnalyses, missingSections } from "../demo/analyses.js";
import { createInProcessRunner, createQueueRunner, type DemoRunner } from "../demo/runner.js";
import { loadSampleReport } from "../demo/sample-report.js";
import { displayRedis, redisAnswers, redisTarget } from "../redis.js";
import { formatMs, oneLine, renderSummary, renderTrajectory } from "../render-result.js";
import type { SampleReportFacts } from "../sample-report/generate.js";
import { setup } from "../setup.js";
import { cancelOnSignals } from "../signals.js";
import { onStdoutClosed, stdoutClosed } from "../stdout-closed.js";
import { EXIT } from "../usage-error.js";

/** Options of `rlm demo`. */
export interface DemoFlags {
  json?: boolean;
  latency: number;
  /** Skip the Redis check and run in this process. */
  inProcess?: boolean;
}

/** How long the demo waits for Redis's PING before running in process. */
const REDIS_CHECK_MS = 1_000;

interface Outcome {
  analysis: DemoAnalysis;
  result: RlmResult;
  correct: boolean;
}

/**
 * `rlm demo`: the whole path offline. Starts the mock LLM in this process, then runs the
 * three demo analyses over the bundled sample report and prints each trajectory and a
 * closing summary. When Redis answers at `REDIS_URL` (or the cluster of
 * `REDIS_CLUSTER_NODES`), and `--in-process` is not given,
 * the analyses go through the queue: a worker in this process, a producer enqueueing,
 * all under a throw-away key prefix deleted at the end. Otherwise in process, as `run`.
 * Exit 0 only when every analysis ends with `final` and a correct answer.
 *
 * @returns the exit code.
 */
export async function demoCommand(flags: DemoFlags): Promise<number> {
  const { env, logger } = setup();
  const report = await loadSampleReport();
  const target = redisTarget(env);
  const useQueue = !flags.inProcess && (await redisAnswers(target, REDIS_CHECK_MS));
  const redisShown = displayRedis(target);
  const { startMockLlmServer } = await import("@rlm/mock-llm");
  const mock = await startMockLlmServer({ latencyMs: flags.latency, seed: "demo" });
  const out = (text: string) => {
    if (!flags.json && !stdoutClosed()) process.stdout.write(text);
  };
  const controller = new AbortController();
  const release = cancelOnSignals(controller, {
    onFirst: () => process.stderr.write("stopping the demo…\n"),
  });
  // Nobody reads the rest (`rlm demo | head -1`): stop as on Ctrl-C, so that the worker
  // drains and the demo's Redis keys are deleted before the process exits.
  const releasePipe = onStdoutClosed(() => controller.abort(new Error("stdout closed")));
  const outcomes: Outcome[] = [];
  const startedAt = Date.now();
  try {
    const endpoint = {
      baseURL: mock.url,
      apiKey: "demo-key",
      rootModel: "mock-root",
      subModel: "mock-sub",
    };
    const runner: DemoRunner = useQueue
      ? await createQueueRunner(
          endpoint,
          { redis: target, prefix: `rlm-demo-${process.pid}` },
          controller.signal,
        )
      : await createInProcessRunner(endpoint, controller.signal);
    logger.debug({ url: mock.url, mode: runner.mode }, "demo started");
    const modeLine = useQueue
      ? `mode: ${runner.mode}\n`
      : `mode: in-process (${flags.inProcess ? "--in-process given" : `Redis not reachable at ${redisShown}`})\n`;
    // With --json stdout carries only the results; the mode still goes to the top of stderr.
    if (flags.json) process.stderr.write(modeLine);
    out(
      modeLine +
        `RLM demo — mock LLM at ${mock.url}, ${flags.latency} ms latency\n` +
        `document: ${report.facts.title} (${Math.round(report.facts.bytes / 1024)} KB, ${report.facts.sections.length} sections)\n\n`,
    );
    try {
      for (const analysis of demoAnalyses(report.facts)) {
        if (controller.signal.aborted) break;
        out(`━━ ${analysis.name}: ${analysis.query}\n`);
        let result: RlmResult;
        try {
          result = await runner.run(analysis.query, report.text, analysis.name);
        } catch (error) {
          // Stopped: a cancelled analysis may end without a result.
          if (controller.signal.aborted) break;
          throw error;
        }
        const correct = result.finishReason === "final" && analysis.check(result.answer);
        outcomes.push({ analysis, result, correct });
        out(`${renderTrajectory(result)}\n${renderSummary(result)}`);
        out(`check: ${correct ? "✓" : "✗"} expected ${analysis.expected}\n\n`);
      }
    } finally {
      await runner.close();
    }
  } finally {
    release();
    releasePipe();
    await mock.stop();
  }
  if (stdoutClosed()) return EXIT.ok;

  if (flags.json) {
    const json = outcomes.map(({ analysis, result, correct }) => ({
      name: analysis.name,
      query: analysis.query,
      expected: analysis.expected,
      correct,
      result,
    }));
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(closingSummary(outcomes, report.facts, Date.now() - startedAt));
  }
  if (controller.signal.aborted) return EXIT.interrupted;
  const allGood = outcomes.length === 3 && outcomes.every((o) => o.correct);
  return allGood ? EXIT.ok : EXIT.failed;
}

function closingSummary(
  outcomes: readonly Outcome[],
  facts: SampleReportFacts,
  elapsedMs: number,
): string {
  const lines = ["━━ summary"];
  for (const { analysis, result, correct } of outcomes) {
    const answer = oneLine(result.answer).slice(0, 70);
    lines.push(
      `${correct ? "✓" : "✗"} ${analysis.name.padEnd(8)} ${result.finishReason.padEnd(14)} ` +
        `${String(result.totalCalls).padStart(3)} calls  ${formatMs(result.durationMs).padStart(8)}  ${answer}`,
    );
    if (analysis.name === "summary" && !correct) {
      const missing = missingSections(result.answer, facts);
      if (missing.length > 0) lines.push(`  missing sections: ${missing.join(", ")}`);
    }
  }
  const calls = outcomes.reduce((n, o) => n + o.result.totalCalls, 0);
  lines.push(`total: ${calls} model calls in ${formatMs(elapsedMs)}`);
  return `${lines.join("\n")}\n`;
}
