import { type ChildProcess, spawn } from "node:child_process";
import { builtEntry } from "./built-entry.js";

/** A TypeScript entry point running in its own Node process (isolated-vm needs the flag). */
export interface TsProcess {
  child: ChildProcess;
  /** The text after "ready " on the first ready line. */
  readyLine: string;
  exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): void;
}

export async function spawnTs(
  file: string,
  env: Record<string, string> = {},
  options: { ipc?: boolean; execArgv?: string[]; built?: boolean } = {},
): Promise<TsProcess> {
  // Built (see built-entry.ts): as the product runs, without tsx's compiler in memory.
  const entry = options.built ? [await builtEntry(file)] : ["--import", "tsx", file];
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", ...(options.execArgv ?? []), ...entry],
    {
      env: { ...process.env, ...env },
      stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start:\n${output}`)), 60_000);
    const check = () => {
      const match = /^ready ?(.*)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        resolve(match[1] ?? "");
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`${file} exited early:\n${output}`));
    });
  });
  return {
    child,
    readyLine,
    exited,
    output: () => output,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
