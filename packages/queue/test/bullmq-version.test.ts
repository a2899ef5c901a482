import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The queue package runs on BullMQ's public API only, so it can follow BullMQ's minor and
// patch releases: bullmq sits on a caret range, the lockfile holds the newest 6.x, and
// the suite's queue tests run against what the lockfile installs.
const root = fileURLToPath(new URL("../../../", import.meta.url));
const src = fileURLToPath(new URL("../src/", import.meta.url));
const require = createRequire(import.meta.url);

const range = (
  JSON.parse(readFileSync(join(root, "packages/queue/package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  }
).dependencies.bullmq;
const locked = (
  JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  }
).packages["node_modules/bullmq"]?.version;

/** [major, minor, patch] of a version. */
function parts(version: string): number[] {
  return version.split(".").map((part) => Number.parseInt(part, 10));
}

function newer(a: string, b: string): boolean {
  const [x, y] = [parts(a), parts(b)];
  for (let index = 0; index < 3; index += 1) {
    if ((x[index] ?? 0) !== (y[index] ?? 0)) return (x[index] ?? 0) > (y[index] ?? 0);
  }
  return false;
}

describe("bullmq", () => {
  it("is on a caret range of 6.x, and the suite runs the version the lockfile holds", () => {
    expect(range).toMatch(/^\^6\.\d+\.\d+$/);
    expect(locked).toMatch(/^6\.\d+\.\d+$/);
    expect(newer(range!.slice(1), locked!)).toBe(false);
    const installed = (require("bullmq/package.json") as { version: string }).version;
    expect(installed).toBe(locked);
  });

  it("is the newest 6.x release in the lockfile (when the npm registry answers)", async (context) => {
    let versions: string[];
    try {
      const { stdout } = await promisify(execFile)(
        "npm",
        ["view", "bullmq@^6", "version", "--json"],
        { timeout: 20_000 },
      );
      const parsed = JSON.parse(stdout) as string | string[];
      versions = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      context.skip("the npm registry did not answer");
      return;
    }
    const newest = versions.reduce((best, version) => (newer(version, best) ? version : best));
    // If this fails: `npm install bullmq@^6 -w packages/queue`, then run the suite.
    expect(locked).toBe(newest);
  });

  it("is used through its public API only: no source names its internal keys or fields", () => {
    const sources = listTs(src).map((file) => ({ file, text: readFileSync(file, "utf8") }));
    expect(sources.length).toBeGreaterThan(20);
    // What claim-delayed-job.ts did: a job's hash by `toKey`, the queue's key map, the
    // lock key, the attempt counters `ats`/`atm` and `pb`.
    const internals = [/\.toKey\(/, /queue\.keys\b/, /:lock\b/, /["'](ats|atm|pb)["']/];
    const offenders = sources.filter(({ text }) => internals.some((pattern) => pattern.test(text)));
    expect(offenders.map(({ file }) => file)).toEqual([]);
  });
});

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listTs(path);
    return /\.(ts|lua)$/.test(name) ? [path] : [];
  });
}
