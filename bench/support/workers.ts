import { fileURLToPath } from "node:url";
import type { RlmWorker } from "@rlm/queue";
import { nodeFlags } from "../../apps/cli/bin/node-flags.js";
import { spawnTs, type TsProcess } from "./spawn-ts.js";

const MAIN = fileURLToPath(new URL("./worker-main.ts", import.meta.url));

export interface WorkerStats {
  maxRssBytes: number;
  rssBytes: number;
  live: ReturnType<RlmWorker["runStats"]>;
  /** LM model-client entries since the last stats call (see worker-main.ts). */
  clientCalls: Array<{ hash: string; at: number }>;
}

export interface WorkerSettings {
  prefix: string;
  modelUrl: string;
  rootConcurrency?: number;
  llmConcurrency?: number;
  lockMs?: number;
  stalledMs?: number;
  /** Root turns from the scripted k-iteration model instead of the mock. */
  rootScript?: number;
  /** Record when each LM call reaches the model client (figure 2); costs a copy per call. */
  traceClientCalls?: boolean;
  /** False: every LM batch through the wait list (`RlmWorkerOptions.eagerDispatch`). */
  eagerDispatch?: boolean;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
  /** A Redis Cluster (`host:port,…`) instead of the local Redis. */
  clusterNodes?: string;
}

/** A `startRlmWorker` in its own OS process (so it can be SIGKILLed and measured). */
export class WorkerProcess {
  private nextId = 1;
  private constructor(readonly process: TsProcess) {}

  static async start(settings: WorkerSettings): Promise<WorkerProcess> {
    const env: Record<string, string> = {
      BENCH_PREFIX: settings.prefix,
      BENCH_MODEL_URL: settings.modelUrl,
      BENCH_ROOT_CONCURRENCY: String(settings.rootConcurrency ?? 8),
      BENCH_LLM_CONCURRENCY: String(settings.llmConcurrency ?? 32),
      // As `rlm worker` runs (apps/cli/bin/rlm.js sets it unless the user did).
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
    };
    if (settings.traceClientCalls) env.BENCH_TRACE_CLIENT = "1";
    // BENCH_EAGER=0 in the bench's environment turns it off everywhere (A/B runs).
    env.BENCH_EAGER = settings.eagerDispatch === false ? "0" : (process.env.BENCH_EAGER ?? "1");
    if (settings.rootScript !== undefined) env.BENCH_ROOT_SCRIPT = String(settings.rootScript);
    if (settings.lockMs !== undefined) env.BENCH_LOCK_MS = String(settings.lockMs);
    if (settings.stalledMs !== undefined) env.BENCH_STALLED_MS = String(settings.stalledMs);
    if (settings.clusterNodes !== undefined) env.BENCH_CLUSTER_NODES = settings.clusterNodes;
    const started = await spawnTs(MAIN, env, {
      ipc: true,
      built: true,
      // The flags `rlm worker` runs with (apps/cli/bin/rlm.js), plus any asked for.
      // BENCH_WORKER_FLAGS adds node/V8 flags to every worker (A/B runs of a flag).
      execArgv: [
        // spawnTs adds --no-node-snapshot; the semi-space size comes from NODE_OPTIONS when
        // set there.
        ...nodeFlags(process.env.NODE_OPTIONS).filter((flag) => flag !== "--no-node-snapshot"),
        ...(process.env.BENCH_WORKER_FLAGS?.split(" ").filter(Boolean) ?? []),
        ...(settings.execArgv ?? []),
      ],
    });
    return new WorkerProcess(started);
  }

  get pid(): number {
    return this.process.child.pid ?? -1;
  }

  stats(): Promise<WorkerStats> {
    const id = this.nextId++;
    const child = this.process.child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("worker stats timed out")), 10_000);
      const onMessage = (message: WorkerStats & { id: number }) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(message);
      };
      child.on("message", onMessage);
      child.send({ type: "stats", id });
    });
  }

  kill(): Promise<number | null> {
    this.process.kill("SIGKILL");
    return this.process.exited;
  }

  /** Graceful stop (SIGTERM drains), SIGKILL if it takes too long. */
  async stop(): Promise<void> {
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10_000);
    await this.process.exited;
    clearTimeout(timer);
  }
}
