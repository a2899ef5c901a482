// Figure 2: orchestration overhead per model call through the queue, from real
// timestamps (BullMQ job fields + the mock's request records), beside the raw BullMQ
// job round trip on the same Redis as the floor.
import type { MockRequestRecord } from "@rlm/mock-llm";
import { Queue, QueueEvents, Worker } from "bullmq";
import type { ModelClient } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { Rlm } from "rlm-queue";
import { queueRun } from "./fan-out.js";
import { type BenchContext, type FigureResult, fmt, MOCK_MODELS } from "./support/bench-context.js";
import { documentForChunks, querySubject, type TestDocument } from "./support/documents.js";
import { REDIS } from "./support/redis-keys.js";
import { type Distribution, distribution } from "./support/stats.js";
import type { ChildTimeline } from "./support/timeline.js";
import { WorkerProcess } from "./support/workers.js";

// Fewer sub-calls than LM slots, so no call waits for a slot: every millisecond between
// enqueue and model call start is orchestration, not queueing behind other calls.
const N = 20;
const LM_SLOTS = 50;
const L = 50;

/** The queue's side of figure 2: `analyses` fan-outs through one worker process. */
async function queueFanOuts(
  bench: BenchContext,
  document: TestDocument,
  analyses: number,
  eagerDispatch: boolean,
) {
  const children: ChildTimeline[] = [];
  const resumeGaps: number[] = [];
  // Per call: model call start at the mock − the moment the fan-out's first call left the
  // engine. The same for the in-process path: the difference is what the queue adds.
  const fromBurst: number[] = [];
  // Per fan-out, in call order: when the model client got each call, from the first call
  // leaving the engine. The in-process path pays the same client work in the same order,
  // so rank by rank the difference is what the queue adds before a call reaches the
  // model client (batching, job add, pickup, the LM job's own reads).
  const toClient: number[][] = [];
  // Per fan-out, in call order: each call's start at the mock − the end, at the mock, of
  // the root call whose code fanned out (both on the mock's clock, for both paths).
  const fromAnswer: number[][] = [];
  let subCalls = 0;
  const returnGaps: number[] = [];
  const worker = await WorkerProcess.start({
    prefix: bench.prefix,
    modelUrl: bench.mock.url,
    llmConcurrency: LM_SLOTS,
    traceClientCalls: true,
    eagerDispatch,
  });
  try {
    await queueRun(bench, document, LM_SLOTS, 0); // warm-up
    for (let index = 0; index < analyses; index += 1) {
      const run = await queueRun(bench, document, LM_SLOTS, L, worker);
      children.push(...(run.children ?? []));
      const burstStart = Math.min(...(run.children ?? []).map((child) => child.issuedAt));
      for (const child of run.children ?? []) fromBurst.push(child.modelStart - burstStart);
      toClient.push(
        (run.children ?? [])
          .flatMap((child) =>
            child.clientCall === undefined ? [] : [child.clientCall - burstStart],
          )
          .sort((a, b) => a - b),
      );
      const requests = await bench.mock.requests();
      fromAnswer.push(fanOutStarts(requests));
      subCalls += requests.filter((request) => request.kind === "sub").length;
      if (run.resumeGapMs !== undefined) resumeGaps.push(run.resumeGapMs);
      if (run.returnGapMs !== undefined) returnGaps.push(run.returnGapMs);
    }
  } finally {
    await worker.stop();
  }
  return { children, resumeGaps, fromBurst, toClient, fromAnswer, subCalls, returnGaps };
}

/**
 * A fan-out's sub-calls, sorted: each one's start at the mock − the end of the root call
 * before the first of them (the answer whose code fanned out), on the mock's clock.
 */
function fanOutStarts(requests: MockRequestRecord[]): number[] {
  const subs = requests
    .filter((request) => request.kind === "sub")
    .map((request) => request.startedAt)
    .sort((a, b) => a - b);
  const first = subs[0];
  if (first === undefined) return [];
  const answer = Math.max(
    ...requests
      .filter((request) => request.kind !== "sub" && (request.endedAt ?? 0) <= first)
      .map((request) => request.endedAt ?? 0),
  );
  return subs.map((start) => start - answer);
}

/** Rank by rank, fan-out by fan-out: the queue's k-th call against the in-process k-th. */
function addedByRank(queueToClient: number[][], inProcessToClient: number[][]): Distribution {
  const added: number[] = [];
  for (const [index, queueCalls] of queueToClient.entries()) {
    const inProcessCalls = inProcessToClient[index] ?? [];
    for (const [rank, at] of queueCalls.entries()) {
      const inProcessAt = inProcessCalls[rank];
      if (inProcessAt !== undefined) added.push(at - inProcessAt);
    }
  }
  return distribution(added);
}

export async function runOverhead(bench: BenchContext): Promise<FigureResult> {
  const analyses = bench.quick ? 5 : 15;
  const document = documentForChunks(N, 10_000, 3);
  // The product's default (calls in the root's process while it has slots), then every
  // call through the queue.
  const eager = await queueFanOuts(bench, document, analyses, true);
  const waitList = await queueFanOuts(bench, document, analyses, false);
  const inProcessFromBurst: number[] = [];
  const inProcessResume: number[] = [];
  const inProcessFromAnswer: number[][] = [];
  await inProcessBurst(bench, document, 0); // warm-up
  for (let index = 0; index < analyses * 2; index += 1) {
    const run = await inProcessBurst(bench, document, L);
    inProcessFromBurst.push(...run.fromBurst);
    inProcessFromAnswer.push(run.fromAnswer);
    if (run.resumeGap !== undefined) inProcessResume.push(run.resumeGap);
  }
  // Each queue run against its own in-process run (the first half, then the second).
  // Out: the fan-out's answer at the mock → each sub-call at the mock, rank by rank. The
  // calls a root's process makes itself have no LM job to time them by; the mock times
  // both paths alike.
  const dispatch = addedByRank(eager.fromAnswer, inProcessFromAnswer.slice(0, analyses));
  const dispatchWaitList = addedByRank(waitList.fromAnswer, inProcessFromAnswer.slice(analyses));
  // The way back, fan-out by fan-out: last sub-call answered at the mock → next root call
  // at the mock, queue − in process (median of the in-process gaps as the reference).
  const inProcessReturn = distribution(inProcessResume);
  const returnAdded = distribution(eager.returnGaps.map((gap) => gap - inProcessReturn.p50));
  const returnAddedWaitList = distribution(
    waitList.returnGaps.map((gap) => gap - inProcessReturn.p50),
  );
  const queueBurst = distribution(waitList.fromBurst);
  const inProcessBurstStarts = distribution(inProcessFromBurst);
  const added = {
    p50: queueBurst.p50 - inProcessBurstStarts.p50,
    p99: queueBurst.p99 - inProcessBurstStarts.p99,
  };
  // Calls made in the root's process, with no LM job (those with one are `children`).
  const callsHere = eager.subCalls - eager.children.length;
  // The wait-list route, job timestamps split where a job waits.
  const queued = waitList.children;
  const enqueueToModel = distribution(queued.map((child) => child.modelStart - child.enqueuedAt));
  const issuedToEnqueue = distribution(queued.map((child) => child.enqueuedAt - child.issuedAt));
  const enqueueToPickup = distribution(queued.map((child) => child.processedOn - child.enqueuedAt));
  const traced = queued.filter((child) => child.clientCall !== undefined);
  const pickupToClient = distribution(
    traced.map((child) => (child.clientCall ?? 0) - child.processedOn),
  );
  const clientToModel = distribution(
    traced.map((child) => child.modelStart - (child.clientCall ?? 0)),
  );
  const batchSizes = distribution(queued.map((child) => child.batchSize));
  const floor = await rawBullmq(bench, bench.quick ? 200 : 500);

  const row = (metric: string, value: string) => ({
    figure: "2 overhead",
    metric,
    value,
    goal: "",
  });
  const rows: FigureResult["rows"] = [
    {
      figure: "2 overhead",
      metric: `queue's added time per call, out: fan-out's answer → each call at the mock, queue − in process by rank (${dispatch.n} calls; N=${N} ≤ slots, L=${L} ms, ${analyses} fan-outs each)`,
      value: pq(dispatch),
      goal: "p50 ≤ 3 ms",
      pass: dispatch.p50 <= 3,
    },
    {
      figure: "2 overhead",
      metric: `queue's added time per fan-out, back: last answer at the mock → next root call at the mock, queue − in process (${returnAdded.n} fan-outs)`,
      value: pq(returnAdded),
      goal: "p50 ≤ 3 ms",
      pass: returnAdded.p50 <= 3,
    },
    row(
      `  calls made in the root's process as their run issued them (no LM job): ${callsHere} of ${eager.subCalls}`,
      `${fmt((100 * callsHere) / Math.max(1, eager.subCalls), 0)}%`,
    ),
    row("  out, with every call through the queue (eagerDispatch: false)", pq(dispatchWaitList)),
    row("  back, with every call through the queue", pq(returnAddedWaitList)),
    row(
      "first call leaves the engine → each call at the mock, queue (every call through the queue) − in process (p50s)",
      `p50 ${fmt(added.p50)} / p99 ${fmt(added.p99)} ms`,
    ),
    row("  queue: first call leaves the engine → each call at the mock", pq(queueBurst)),
    row(
      "  in process: the same (the model client's own per-request work, paid in series)",
      pq(inProcessBurstStarts),
    ),
    row(
      "queue: last answer at the mock → next root call at the mock",
      pq(distribution(eager.returnGaps)),
    ),
    row("  in process: the same", pq(inProcessReturn)),
    row(
      `wait list: LM job enqueue → model call start at the mock (${enqueueToModel.n} calls; batch size p50 ${fmt(batchSizes.p50, 0)})`,
      pq(enqueueToModel),
    ),
    row("wait list:   call leaves the engine → its LM job is built", pq(issuedToEnqueue)),
    row("wait list:   enqueue → LM worker picks job", pq(enqueueToPickup)),
    row("wait list:   job start → LM processor calls the model client", pq(pickupToClient)),
    row("wait list:   model client called → request body at the mock", pq(clientToModel)),
    row("floor: raw BullMQ add → processor start (one at a time)", pq(floor.single)),
    row(`floor: raw BullMQ add → processor start (bursts of ${N})`, pq(floor.burst)),
    row("floor: raw BullMQ processor end → completed event", pq(floor.completed)),
  ];
  return {
    rows,
    data: {
      dispatch,
      dispatchWaitList,
      returnAdded,
      returnAddedWaitList,
      queueReturn: distribution(eager.returnGaps),
      inProcessReturn,
      added,
      queueBurst,
      inProcessBurst: inProcessBurstStarts,
      subCallsPerAnalysis: N,
      latencyMs: L,
      analyses,
      callsHere,
      enqueueToModel,
      issuedToEnqueue,
      enqueueToPickup,
      pickupToClient,
      clientToModel,
      batchSizes,
      floor,
    },
  };
}

/**
 * The same analysis in process (engine in this process, mock in its own): per call, model
 * call start at the mock − the first `subcall_start`; and the gap from the last sub-call's
 * end to the next root call.
 */
async function inProcessBurst(
  bench: BenchContext,
  document: TestDocument,
  latencyMs: number,
): Promise<{
  fromBurst: number[];
  toClient: number[];
  fromAnswer: number[];
  resumeGap: number | undefined;
}> {
  await bench.mock.reset({ latencyMs, strategy: "map-reduce", chunkChars: 10_000 });
  let burstStart: number | undefined;
  const clientCalls: number[] = [];
  const client = createOpenAIModelClient({
    baseURL: bench.mock.url,
    apiKey: "bench",
    retry: { maxAttempts: 1 },
  });
  // The product's client, with the moment it gets each sub-call noted.
  const modelClient: ModelClient = {
    honoursGate: client.honoursGate,
    reportsSent: client.reportsSent,
    complete(request) {
      if (request.model === MOCK_MODELS.subModel) {
        clientCalls.push(performance.timeOrigin + performance.now());
      }
      return client.complete(request);
    },
  };
  const rlm = new Rlm({
    modelClient,
    ...MOCK_MODELS,
    subConcurrency: LM_SLOTS,
    onEvent: (event) => {
      if (event.type === "subcall_start" && event.depth === 0) {
        burstStart ??= performance.timeOrigin + performance.now();
      }
    },
  });
  await rlm.completion(querySubject(document), document.text);
  const requests: MockRequestRecord[] = await bench.mock.requests();
  const subs = requests.filter((request) => request.kind === "sub");
  const fromBurst = subs.map((request) => request.startedAt - (burstStart ?? request.startedAt));
  const toClient = clientCalls.map((at) => at - (burstStart ?? at)).sort((a, b) => a - b);
  const lastSubEnd = Math.max(...subs.map((request) => request.endedAt ?? 0));
  const next = requests
    .filter((request) => request.kind !== "sub" && request.startedAt >= lastSubEnd)
    .sort((a, b) => a.startedAt - b.startedAt)[0];
  return {
    fromBurst,
    toClient,
    fromAnswer: fanOutStarts(requests),
    resumeGap: next ? next.startedAt - lastSubEnd : undefined,
  };
}

function pq(d: Distribution): string {
  return `p50 ${fmt(d.p50)} / p99 ${fmt(d.p99)} ms`;
}

/**
 * The floor: a bare BullMQ queue and worker (concurrency 50) on the same Redis, in this
 * process. One job at a time shows the idle pickup latency; bursts of N show what a
 * fan-out pays just to move N jobs through BullMQ.
 */
async function rawBullmq(bench: BenchContext, samples: number) {
  const name = "raw-floor";
  const options = { connection: { ...REDIS }, prefix: bench.prefix };
  const queue = new Queue(name, options);
  const events = new QueueEvents(name, options);
  const starts = new Map<string, number>();
  const ends = new Map<string, number>();
  const completed = new Map<string, (at: number) => void>();
  events.on("completed", ({ jobId }) => completed.get(jobId)?.(Date.now()));
  const worker = new Worker(
    name,
    async (job) => {
      starts.set(job.id ?? "", Date.now());
      ends.set(job.id ?? "", Date.now());
      return 1;
    },
    { ...options, concurrency: 50 },
  );
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
  const single: number[] = [];
  const completedLag: number[] = [];
  const burst: number[] = [];
  try {
    const runOne = async (id: string) => {
      const done = new Promise<number>((resolve) => completed.set(id, resolve));
      const job = await queue.add("j", {}, { jobId: id, removeOnComplete: true });
      const at = await done;
      completedLag.push(at - (ends.get(id) ?? at));
      return (starts.get(id) ?? 0) - job.timestamp;
    };
    for (let index = 0; index < 20; index += 1) await runOne(`w${index}`); // warm-up
    for (let index = 0; index < samples; index += 1) single.push(await runOne(`s${index}`));
    for (let round = 0; round < Math.ceil(samples / N); round += 1) {
      const jobs = await Promise.all(
        Array.from({ length: N }, (_, index) => {
          const id = `b${round}-${index}`;
          const done = new Promise<number>((resolve) => completed.set(id, resolve));
          return queue
            .add("j", {}, { jobId: id, removeOnComplete: true })
            .then((job) => ({ job, done }));
        }),
      );
      await Promise.all(jobs.map(({ done }) => done));
      for (const { job } of jobs) burst.push((starts.get(job.id ?? "") ?? 0) - job.timestamp);
    }
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
  return {
    single: distribution(single),
    burst: distribution(burst),
    completed: distribution(completedLag),
  };
}
