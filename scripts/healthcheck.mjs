// The image's HEALTHCHECK: one image runs every role, so the role is read from the
// container's main process (`rlm serve`, `rlm worker`, `rlm mock-llm`, …), or given as
// the first argument. Exit 0 healthy, 1 not, within about 2 seconds.
//   serve     GET /health on its port (200 only while Redis answers)
//   mock-llm  GET /health on its port
//   worker    Redis answers a PING at REDIS_URL (without it the worker can do nothing)
//   other     one-shot commands (run, analyze, demo): healthy while they run
import { readFileSync } from "node:fs";

const TIMEOUT_MS = 2_000;

/** The arguments of the container's main process after `rlm.js`, or of this script. */
function roleArgs() {
  if (process.argv[2] !== undefined) return process.argv.slice(2);
  try {
    const args = readFileSync("/proc/1/cmdline", "utf8").split("\0").filter(Boolean);
    const bin = args.findIndex((arg) => arg.endsWith("rlm.js"));
    return bin === -1 ? [] : args.slice(bin + 1);
  } catch {
    return [];
  }
}

/** The value of `--name <value>` or `--name=<value>` in `args`. */
function flag(args, name) {
  const index = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index === -1) return undefined;
  const arg = args[index];
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[index + 1];
}

async function httpOk(port) {
  const response = await fetch(`http://127.0.0.1:${port}/health`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return response.ok;
}

async function redisAnswers() {
  const { Redis } = await import("ioredis");
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  redis.on("error", () => {}); // the failed connect below says it once
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } finally {
    redis.disconnect();
  }
}

const args = roleArgs();
const checks = {
  serve: () => httpOk(flag(args, "--port") ?? process.env.PORT ?? 3000),
  "mock-llm": () => httpOk(flag(args, "--port") ?? 8787),
  worker: redisAnswers,
};
const check = checks[args[0]];
try {
  process.exitCode = check === undefined || (await check()) ? 0 : 1;
} catch (error) {
  console.error(`unhealthy: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
