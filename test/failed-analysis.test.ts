import { AnalysisFailedError } from "@rlm/queue";
import { expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { inProcessWorkers } from "./support/in-process-workers.js";

// The provider refuses the second root turn (a 400 whenever the prompt carries REPL
// output back): the analysis fails after one iteration that ran and was paid for.
const bed = inProcessWorkers("failed-analysis", {
  latencyMs: 0,
  strategy: "map-reduce",
  chunkChars: 20_000,
  faults: { badRequestWhen: "Output:" },
});

it("a failed analysis keeps its partial result: the history and the usage paid", async () => {
  await bed.worker();
  const document = makeDocument({ chars: 50_000, markerCount: 3, seed: 3 });
  const { id } = await bed.client.enqueueAnalysis({
    query: `How many times does "${document.marker}" appear?`,
    context: document.text,
  });
  const failure = await bed.client.waitForResult(id, { timeoutMs: 30_000 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(AnalysisFailedError);
  const partial = (failure as AnalysisFailedError).result;
  expect(partial?.finishReason).toBe("error");
  expect(partial?.replHistory.length).toBeGreaterThan(0);
  expect(partial?.usage.inputTokens).toBeGreaterThan(0);

  const view = await bed.client.getAnalysis(id);
  expect(view?.status).toBe("failed");
  expect(view?.error?.code).toBe(partial?.error?.code);
  expect(view?.result?.replHistory).toEqual(partial?.replHistory);
  expect(view?.progress.inputTokens).toBe(partial?.usage.inputTokens);
});
