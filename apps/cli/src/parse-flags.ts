import { InvalidArgumentError } from "commander";
import { parseRateLimit, RATE_LIMIT_HINT, type RateLimit } from "./env.js";

/**
 * Argument parsers for commander options. They throw `InvalidArgumentError`, which
 * commander turns into one `error: option '--x <n>' argument 'y' is invalid. …` line.
 */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError("expected a positive integer");
  }
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > 65_535) {
    throw new InvalidArgumentError("expected a port number (0–65535)");
  }
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError("expected a number ≥ 0");
  }
  return n;
}

/** `--max-cost-usd 0.50`: a positive amount. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError("expected a positive number");
  }
  return n;
}

export function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError("expected a probability between 0 and 1");
  }
  return n;
}

export function httpUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {
    // fall through to the one message below
  }
  throw new InvalidArgumentError("expected an http(s) URL");
}

export function nonEmpty(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  return value;
}

/** `--queues root,llm`: which queues a worker serves (each at most once). */
export function workerRoles(value: string): ("root" | "llm")[] {
  const names = value.split(",").map((name) => name.trim());
  const roles = [...new Set(names)];
  if (roles.length === 0 || roles.some((role) => role !== "root" && role !== "llm")) {
    throw new InvalidArgumentError("expected root, llm or root,llm");
  }
  return roles as ("root" | "llm")[];
}

/** `--rate-limit 20/s`: requests per second (or /m, /h) across all workers. */
export function rateLimit(value: string): RateLimit {
  const parsed = parseRateLimit(value);
  if (parsed === undefined) throw new InvalidArgumentError(RATE_LIMIT_HINT);
  return parsed;
}

/** `--wait-timeout 90` (seconds, decimals allowed). */
export function positiveSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError("expected a positive number of seconds");
  }
  return n;
}
