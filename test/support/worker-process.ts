import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./worker-main.ts", import.meta.url));

/** A worker in its own OS process, so tests can SIGKILL it. */
export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  output(): string;
}

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--no-node-snapshot", "--import", "tsx", MAIN], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`worker exited early:\n${output}`));
    });
  });
  return {
    child,
    exited,
    kill: (signal = "SIGKILL") => {
      child.kill(signal);
    },
    output: () => output,
  };
}

/**
 * How long before a SIGKILL a call's answer must have reached its worker for the chaos
 * tests to count it as answered to a live worker (never to be asked again): the kill
 * signal's delivery, and the worker's own way from the answer to its journal write. On a
 * loaded CI machine (2 cores, test files in parallel) a worker handling a wave's answers
 * in a burst took more than 50 ms for one of them once (the cluster leg, session 14).
 */
export const ANSWERED_BEFORE_KILL_MS = 100;
