import { readFileSync } from "node:fs";
// A bench worker process: `startRlmWorker` configured from env, answering IPC requests
// for its peak RSS and live-REPL cache statistics, so the bench reads them per process.
import type { ModelClient } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { messagesHash } from "@rlm/mock-llm";
import { exposedGarbageCollector, openCluster, startRlmWorker } from "@rlm/queue";
import { scriptedRootModel } from "./scripted-root.js";

const env = process.env;
const optionalMs = (value: string | undefined) => (value ? Number(value) : undefined);
const modelUrl = env.BENCH_MODEL_URL ?? "";
// When the LM processor hands a request to the model client, keyed like the mock's
// messagesHash: splits "job start → model call start" into queue-side and client-side time.
// The hash is taken when the figure asks for the trace, not on the way to the model.
const clientCalls: Array<{ request: { model: string; messages: unknown[] }; at: number }> = [];
const llmClient = createOpenAIModelClient({
  apiKey: "bench-key",
  baseURL: modelUrl,
  timeoutMs: 60_000,
  retry: { retryRateLimits: false, maxAttempts: 4 },
});
// Only when a figure asks (BENCH_TRACE_CLIENT=1): the trace keeps every request until the
// figure reads it, and hashes them then, which would add to the measured process's RSS.
const traceClientCalls = env.BENCH_TRACE_CLIENT === "1";
const tracedLlmClient: ModelClient = {
  // It passes each request on as is, gate included: the product's client honours it.
  honoursGate: llmClient.honoursGate,
  reportsSent: llmClient.reportsSent,
  complete(request) {
    if (!traceClientCalls) return llmClient.complete(request);
    const at = performance.timeOrigin + performance.now();
    const messages = request.messages.map((message) => ({
      role: message.role,
      content: message.content,
    }));
    clientCalls.push({ request: { model: request.model, messages }, at });
    return llmClient.complete(request);
  },
};
// BENCH_ROOT_SCRIPT=k: root turns from the scripted k-iteration model (resume figure).
const rootScript = env.BENCH_ROOT_SCRIPT ? Number(env.BENCH_ROOT_SCRIPT) : undefined;
// As `rlm worker` does: it runs with --expose-gc (WorkerProcess starts this one so).
const collectGarbage = exposedGarbageCollector();
// BENCH_CLUSTER_NODES=host:port,…: a Redis Cluster (figure 9).
const cluster = env.BENCH_CLUSTER_NODES
  ? openCluster({
      nodes: env.BENCH_CLUSTER_NODES.split(",").map((node) => {
        const [host = "", port = ""] = node.split(":");
        return { host, port: Number(port) };
      }),
    })
  : undefined;
const worker = await startRlmWorker({
  llmModelClient: tracedLlmClient,
  ...(rootScript === undefined ? {} : { rootModelClient: scriptedRootModel(rootScript, 20) }),
  connection: cluster ?? { host: "127.0.0.1", port: 6379 },
  prefix: env.BENCH_PREFIX ?? "rlm-bench",
  roles: (env.BENCH_ROLES ?? "root,llm").split(",") as Array<"root" | "llm">,
  concurrency: {
    root: Number(env.BENCH_ROOT_CONCURRENCY ?? 8),
    llm: Number(env.BENCH_LLM_CONCURRENCY ?? 32),
  },
  model: {
    baseURL: env.BENCH_MODEL_URL ?? "",
    apiKey: "bench-key",
    timeoutMs: 60_000,
    maxAttempts: 4,
  },
  defaults: { rootModel: "mock-root", subModel: "mock-sub" },
  eagerDispatch: env.BENCH_EAGER !== "0",
  // Unset: the product defaults (what recovery is measured against).
  lockDurationMs: optionalMs(env.BENCH_LOCK_MS),
  stalledIntervalMs: optionalMs(env.BENCH_STALLED_MS),
  ...(collectGarbage ? { collectGarbage } : {}),
});

/**
 * Peak RSS: the kernel's high-water mark of this process's memory (VmHWM), so no sampling
 * is missed. Not `resourceUsage().maxRSS`: Linux carries that over from before `exec`,
 * where the forked child still counted the parent's pages, and a bench process holding a
 * 100 MB document made its next worker start at "216 MB".
 */
function peakRssBytes(): number {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // Not Linux: the portable figure.
  }
  return process.resourceUsage().maxRSS * 1024;
}

process.on("message", (message: { type: string; id: number }) => {
  if (message.type === "stats") {
    process.send?.({
      id: message.id,
      maxRssBytes: peakRssBytes(),
      rssBytes: process.memoryUsage().rss,
      live: worker.runStats(),
      clientCalls: clientCalls
        .splice(0)
        .map(({ request, at }) => ({ hash: messagesHash(request.model, request.messages), at })),
    });
  }
});
process.stdout.write("ready\n");
const stop = async () => {
  await worker.close({ timeoutMs: 5_000 });
  await cluster?.quit();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
