import type ivm from "isolated-vm";

/** Why a cell was stopped from the outside. */
export type CellBreach = "wall" | "cpu" | "isolate-gone" | "cancelled";

/** Options of {@link watchCell}. */
export interface CellWatchdogOptions {
  isolate: ivm.Isolate;
  /** Wall-clock limit of the cell, in ms, not counting time with a sub-call pending. */
  wallMs: number;
  /** CPU limit of the cell, in ms. */
  cpuMs: number;
  /**
   * Extra CPU allowed while the synchronous part runs: isolated-vm's own `timeout` stops
   * that part without losing the isolate, so the watchdog only backs it up.
   */
  syncGraceMs: number;
  /** How often CPU time and disposal are polled, in ms. */
  pollMs: number;
  /** Aborted when the analysis is cancelled or past its deadline. */
  signal?: AbortSignal;
}

/** A running watchdog. */
export interface CellWatchdog {
  /** Settles with the first breach; never rejects. */
  readonly breach: Promise<CellBreach>;
  /** The synchronous part is over: from now on the CPU limit is exact. */
  syncPartDone(): void;
  /** A sub-call of the cell started: the wall clock stops while any is pending. */
  subCallStarted(): void;
  /** A sub-call of the cell ended. */
  subCallEnded(): void;
  /** Stops the timers (idempotent). */
  stop(): void;
}

/**
 * Watches one cell: a wall-clock deadline, CPU time polled from `isolate.cpuTime` (which
 * covers code that runs after an `await`, where isolated-vm's `timeout` does not reach),
 * and the isolate disappearing on its own (the memory limit). It only reports; the caller
 * decides to dispose.
 *
 * The wall clock stands still while a sub-call is pending. Why: it exists to stop runaway
 * code, and a model's sequential `for … await recursiveLm(…)` over 25 chunks at 3 s each
 * is waiting, not running away; the analysis's deadline bounds the whole.
 */
export function watchCell(options: CellWatchdogOptions): CellWatchdog {
  const { isolate } = options;
  const cpuStart = isolate.cpuTime;
  let cpuLimitNs = BigInt(Math.round((options.cpuMs + options.syncGraceMs) * 1e6));
  let report: (breach: CellBreach) => void = () => undefined;
  const breach = new Promise<CellBreach>((resolve) => {
    report = resolve;
  });
  // Wall time left, and since when it runs (undefined while a sub-call is pending).
  let wallLeftMs = options.wallMs;
  let wallSince: number | undefined = performance.now();
  let wallTimer: NodeJS.Timeout | undefined = setTimeout(() => report("wall"), wallLeftMs);
  let pendingSubCalls = 0;
  const onAbort = () => report("cancelled");
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const pollTimer = setInterval(() => {
    if (isolate.isDisposed) report("isolate-gone");
    else if (isolate.cpuTime - cpuStart > cpuLimitNs) report("cpu");
  }, options.pollMs);
  let stopped = false;
  return {
    breach,
    syncPartDone() {
      cpuLimitNs = BigInt(Math.round(options.cpuMs * 1e6));
    },
    subCallStarted() {
      pendingSubCalls += 1;
      if (stopped || wallSince === undefined) return;
      wallLeftMs -= performance.now() - wallSince;
      wallSince = undefined;
      clearTimeout(wallTimer);
      wallTimer = undefined;
    },
    subCallEnded() {
      pendingSubCalls = Math.max(0, pendingSubCalls - 1);
      if (stopped || pendingSubCalls > 0 || wallSince !== undefined) return;
      wallSince = performance.now();
      wallTimer = setTimeout(() => report("wall"), Math.max(0, wallLeftMs));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(wallTimer);
      clearInterval(pollTimer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}
