import { expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { inProcessWorkers } from "./support/in-process-workers.js";

// A worker's engine defaults (what `rlm worker` takes from RLM_MAX_ITERATIONS and the
// like) apply to the jobs that set none, and a job's own options win over them.
const bed = inProcessWorkers("worker-defaults", {
  latencyMs: 0,
  strategy: "map-reduce",
  chunkChars: 20_000,
});

it("runs a job without options under the worker's defaults, and a job's own options over them", async () => {
  await bed.worker({
    defaults: { rootModel: "mock-root", subModel: "mock-sub", maxIterations: 1 },
  });
  const document = makeDocument({ chars: 100_000, markerCount: 4, seed: 4 });
  const query = `How many times does "${document.marker}" appear?`;

  // The mock's map-reduce needs three root turns: with one, the best answer is asked for.
  const limited = await bed.client.enqueueAnalysis({ query, context: document.text });
  const first = await bed.client.waitForResult(limited.id, { timeoutMs: 30_000 });
  expect(first.finishReason).toBe("max_iterations");
  expect(first.iterations).toBe(1);

  const own = await bed.client.enqueueAnalysis({
    query,
    context: document.text,
    options: { maxIterations: 5 },
  });
  const second = await bed.client.waitForResult(own.id, { timeoutMs: 30_000 });
  expect(second.finishReason).toBe("final");
  expect(second.answer.trim()).toBe("4");
});

it("publishes an iteration's progress (its sub-call counts) before its end", async () => {
  await bed.worker();
  const document = makeDocument({ chars: 100_000, markerCount: 5, seed: 5 });
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  let progress = { subCallsDone: 0, subCallsTotal: 0 };
  const atIterationEnd: Array<[number, number]> = [];
  for await (const { event } of bed.client.events(id)) {
    if (event.type === "progress") progress = event.progress;
    if (event.type === "iteration" && event.engine.type === "iteration_end") {
      atIterationEnd.push([progress.subCallsDone, progress.subCallsTotal]);
    }
  }
  // Every iteration's end came before the terminal event that ends the stream.
  const result = await bed.client.waitForResult(id, { timeoutMs: 5_000 });
  expect(atIterationEnd).toHaveLength(result.iterations);
  // The map-reduce fans out in its second iteration: its end carries the whole wave.
  const fanOut = atIterationEnd[1];
  expect(fanOut?.[1]).toBeGreaterThan(0);
  expect(fanOut?.[0]).toBe(fanOut?.[1]);
});
