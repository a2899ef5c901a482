import type { JobType, Queue } from "bullmq";
import { Counter, Gauge, type Registry } from "prom-client";

/** The job states counted (BullMQ's `getJobCounts`). */
const STATES: JobType[] = [
  "waiting",
  "active",
  "waiting-children",
  "prioritized",
  "delayed",
  "completed",
  "failed",
];

/** A queue whose depths are read at each scrape. */
type ReadQueue = Pick<Queue, "name" | "getJobCounts" | "getWorkersCount" | "getMetrics">;

/**
 * The queues' own figures, read from Redis at each scrape (`refresh`): jobs by state
 * (`waiting-children`: root runs waiting for their sub-call jobs), the worker processes
 * connected, and BullMQ's counts of jobs completed and failed since its metrics began
 * (recorded by the workers, which `startRlmWorker` turns on). The same in every API
 * process: take one, not their sum.
 */
export class QueueMetrics {
  readonly #queues: readonly ReadQueue[];
  readonly #jobs: Gauge<"queue" | "state">;
  readonly #workers: Gauge<"queue">;
  readonly #finished: Counter<"queue" | "state">;
  readonly #up: Gauge;

  constructor(registry: Registry, queues: readonly ReadQueue[]) {
    const registers = [registry];
    this.#queues = queues;
    this.#jobs = new Gauge({
      name: "rlm_queue_jobs",
      help: "Jobs in each queue by state (BullMQ getJobCounts)",
      labelNames: ["queue", "state"] as const,
      registers,
    });
    this.#workers = new Gauge({
      name: "rlm_queue_workers",
      help: "Worker processes connected to each queue (BullMQ getWorkersCount)",
      labelNames: ["queue"] as const,
      registers,
    });
    this.#finished = new Counter({
      name: "rlm_queue_jobs_finished_total",
      help: "Jobs completed or failed since BullMQ began recording its metrics (Queue.getMetrics)",
      labelNames: ["queue", "state"] as const,
      registers,
    });
    this.#up = new Gauge({
      name: "rlm_queue_metrics_up",
      help: "1 when the queue figures of this scrape were read from Redis, 0 when it did not answer in time",
      registers,
    });
  }

  /**
   * Reads every figure (at most `timeoutMs`: a scrape must not hang on Redis). On a
   * failure the queue figures are left out of the scrape and `rlm_queue_metrics_up` is 0.
   */
  async refresh(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error("Redis did not answer in time")), timeoutMs);
    });
    const read = Promise.all(this.#queues.map((queue) => readQueue(queue)));
    read.catch(() => undefined);
    try {
      const figures = await Promise.race([read, timeout]);
      this.#clear();
      for (const { queue, counts, workers, completed, failed } of figures) {
        for (const state of STATES) this.#jobs.set({ queue, state }, counts[state] ?? 0);
        if (workers !== undefined) this.#workers.set({ queue }, workers);
        this.#finished.inc({ queue, state: "completed" }, completed);
        this.#finished.inc({ queue, state: "failed" }, failed);
      }
      this.#up.set(1);
    } catch {
      this.#clear();
      this.#up.set(0);
    } finally {
      clearTimeout(timer);
    }
  }

  #clear(): void {
    this.#jobs.reset();
    this.#workers.reset();
    this.#finished.reset();
  }
}

async function readQueue(queue: ReadQueue) {
  const [counts, workers, completed, failed] = await Promise.all([
    queue.getJobCounts(...STATES),
    // CLIENT LIST, which some hosted Redis refuse: then no worker count, the rest stands.
    queue.getWorkersCount().catch(() => undefined),
    // Only the running totals are wanted: no data points.
    queue.getMetrics("completed", 0, 0),
    queue.getMetrics("failed", 0, 0),
  ]);
  return {
    queue: queue.name,
    counts,
    workers,
    completed: completed.meta.count,
    failed: failed.meta.count,
  };
}
