import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/rlm.js", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a spawned CLI: this process's, minus every variable the CLI reads,
 * so a developer's OPENAI_API_KEY cannot change a test's outcome.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !/^(OPENAI_|RLM_|OTEL_|LOG_LEVEL$|REDIS_URL$|REDIS_CLUSTER_NODES$|PORT$)|^(https?|no)_proxy$/i.test(
        key,
      )
    ) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** Starts `node apps/cli/bin/rlm.js …args` (the real CLI, through its bin). */
export function startCli(args: readonly string[], env = cleanEnv()): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env });
}

/** Runs the CLI to completion and collects its output; kills it after `timeoutMs`. */
export function runCli(
  args: readonly string[],
  env = cleanEnv(),
  timeoutMs = 30_000,
): Promise<CliRun> {
  const child = startCli(args, env);
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 30_000): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`CLI did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout chunk matching `pattern` (e.g. a printed URL). */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
}

/** A local port with nothing listening on it: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** stderr without trailing newline, split in lines (empty lines dropped). */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** A running CLI whose output is recorded from the start. */
export interface TrackedCli {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once `pattern` matches the stream's output so far. */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: RegExp,
    timeoutMs?: number,
  ): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited (kills it after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<CliRun>;
}

/** Starts the CLI and records everything it prints, for tests that talk to it while it runs. */
export function trackCli(args: readonly string[], env = cleanEnv()): TrackedCli {
  const child = startCli(args, env);
  const out = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out.stdout += chunk;
    notify();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    out.stderr += chunk;
    notify();
  });
  const exit = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    waitFor(stream, pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out[stream].match(pattern);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no ${stream} matching ${pattern} within ${timeoutMs} ms\nstdout: ${out.stdout}\nstderr: ${out.stderr}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          // Let the last chunks arrive, then give up if still no match.
          setTimeout(() => {
            check();
            done();
            reject(new Error(`exited before ${stream} matched ${pattern}\nstderr: ${out.stderr}`));
          }, 50);
        };
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("close", onExit);
        };
        waiters.add(check);
        child.on("close", onExit);
        check();
      });
    },
    async exited(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exit,
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (result === "timeout") {
        child.kill("SIGKILL");
        throw new Error(
          `CLI did not exit within ${timeoutMs} ms\nstdout: ${out.stdout}\nstderr: ${out.stderr}`,
        );
      }
      return { ...result, stdout: out.stdout, stderr: out.stderr };
    },
  };
}
