import type { RlmContext, RlmEventListener, RlmResult } from "@rlm/core";

/**
 * How the demo runs an analysis. Today only in process (`Rlm` facade); the queue mode
 * (producer + workers over Redis) will be a second implementation of this interface.
 */
export interface DemoRunner {
  /** Shown in the demo's output, e.g. "in-process". */
  readonly mode: string;
  run(query: string, context: RlmContext, onEvent: RlmEventListener): Promise<RlmResult>;
  close(): Promise<void>;
}

/** Model endpoint the runner talks to (the demo's mock LLM). */
export interface RunnerEndpoint {
  baseURL: string;
  apiKey: string;
  rootModel: string;
  subModel: string;
}

/** Runs each analysis with the `Rlm` facade in this process. */
export async function createInProcessRunner(
  endpoint: RunnerEndpoint,
  signal: AbortSignal,
): Promise<DemoRunner> {
  // Loaded lazily, like in `rlm run`: it pulls in isolated-vm.
  const { Rlm } = await import("rlm-queue");
  const rlm = new Rlm({ ...endpoint, signal });
  return {
    mode: "in-process",
    run: (query, context, onEvent) => rlm.completion(query, context, { onEvent }),
    close: async () => {},
  };
}
