// Figure 7: recovery. Two worker processes with the product's lock settings; while the
// analysis's root model call is in flight, SIGKILL the worker holding its root job. The
// time to resume is kill → the next model request for the analysis (which the other
// worker makes after the stalled-job check hands it the job and it replays the journal).
// Repeated calls: calls answered to a live worker that were requested again (goal 0).
import { createRootQueue } from "@rlm/queue";
import { type BenchContext, type FigureResult, fmt } from "./support/bench-context.js";
import { documentForChunks, querySubject } from "./support/documents.js";
import { REDIS } from "./support/redis-keys.js";
import { distribution, round } from "./support/stats.js";
import { WorkerProcess } from "./support/workers.js";

const L = 200;
const CHUNK = 10_000;

export async function runRecovery(bench: BenchContext): Promise<FigureResult> {
  const reps = bench.quick ? 1 : 3;
  const document = documentForChunks(20, CHUNK, 13);
  const rootQueue = createRootQueue({ connection: { ...REDIS }, prefix: bench.prefix });
  const trials: Array<{
    resumeMs: number;
    repeatedAnswered: number;
    reaskedInFlight: number;
    answerOk: boolean;
    killedDuring: string;
  }> = [];
  try {
    for (let rep = 0; rep < reps; rep += 1) {
      const workers = await Promise.all(
        [0, 1].map(() => WorkerProcess.start({ prefix: bench.prefix, modelUrl: bench.mock.url })),
      );
      try {
        await bench.mock.reset({ latencyMs: L, strategy: "map-reduce", chunkChars: CHUNK });
        const { id } = await bench.client.enqueueAnalysis({
          query: querySubject(document),
          context: document.text,
        });
        // Kill during root turn 1 or 2 (alternating), once it is in flight.
        const turn = (rep % 2) + 1;
        for (;;) {
          const requests = await bench.mock.requests();
          const roots = requests.filter((request) => request.kind !== "sub");
          if (roots.length >= turn && roots[turn - 1]?.endedAt === null) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const job = await rootQueue.getJob(id);
        const holderPid = Number(job?.processedBy?.split(":").at(-1));
        const holder = workers.find((worker) => worker.pid === holderPid);
        if (!holder)
          throw new Error(`no worker holds root job ${id} (processedBy ${job?.processedBy})`);
        const killedAt = Date.now();
        await holder.kill();
        const result = await bench.client.waitForResult(id, { timeoutMs: 60_000 });
        const requests = await bench.mock.requests();
        const next = requests
          .filter((request) => request.startedAt > killedAt)
          .sort((a, b) => a.startedAt - b.startedAt)[0];
        const answered = requests.filter(
          (request) =>
            request.status === 200 && request.endedAt !== null && request.endedAt < killedAt - 50,
        );
        const repeatedAnswered = answered.filter((first) =>
          requests.some(
            (later) =>
              later.messagesHash === first.messagesHash && later.startedAt > (first.endedAt ?? 0),
          ),
        ).length;
        const inFlight = requests.filter(
          (request) =>
            request.startedAt <= killedAt && (request.endedAt ?? Infinity) >= killedAt - 50,
        );
        const reaskedInFlight = inFlight.filter((first) =>
          requests.some(
            (later) => later.messagesHash === first.messagesHash && later.startedAt > killedAt,
          ),
        ).length;
        const trial = {
          resumeMs: round((next?.startedAt ?? Number.NaN) - killedAt),
          repeatedAnswered,
          reaskedInFlight,
          answerOk: result.answer.trim() === String(document.markerCount),
          killedDuring: `root turn ${turn}`,
        };
        trials.push(trial);
        bench.log(`  kill ${rep + 1}: ${JSON.stringify(trial)}`);
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
      }
    }
  } finally {
    await rootQueue.close();
  }
  const resume = distribution(trials.map((trial) => trial.resumeMs / 1000));
  const repeated = trials.reduce((sum, trial) => sum + trial.repeatedAnswered, 0);
  const reasked = trials.reduce((sum, trial) => sum + trial.reaskedInFlight, 0);
  return {
    rows: [
      {
        figure: "7 recovery",
        metric: `SIGKILL of the root job's worker → resumed by the other (${trials.length} kills; default lock 3 s / stalled check 1 s)`,
        value: `p50 ${fmt(resume.p50)} / max ${fmt(resume.max)} s`,
        goal: "≤ 5 s",
        pass: resume.max <= 5,
      },
      {
        figure: "7 recovery",
        metric: `answered model calls requested again (in-flight calls re-asked: ${reasked})${trials.every((trial) => trial.answerOk) ? "" : " WRONG ANSWER"}`,
        value: String(repeated),
        goal: "0",
        pass: repeated === 0,
      },
    ],
    data: { latencyMs: L, trials },
  };
}
