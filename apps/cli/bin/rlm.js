#!/usr/bin/env node
// The `rlm` command. Re-executes Node with the flags the CLI needs (node-flags.js: some
// that NODE_OPTIONS cannot carry, one that bounds a worker's memory). It runs the CLI's
// JavaScript build (dist/main.js, made by `npm install`), or, when there is none or its
// sources changed since, the TypeScript sources with `--import tsx` (resolved from this
// file, so `npx rlm` works from any directory of the repo).
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { freshBuild } from "./fresh-build.js";
import { nodeFlags } from "./node-flags.js";

const cliDir = new URL("../", import.meta.url);
const built = freshBuild(cliDir);
const entry = built
  ? [built]
  : ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("src/main.ts", cliDir))];

// Two malloc arenas unless the user chose: isolated-vm runs each isolate on threads of its
// own, and glibc's default of one arena per thread (up to 8 per core) kept the memory a
// large document's cells had freed: with two, a worker's peak over a 100 MB document split
// into lines was ~20 MiB lower (BENCHMARKS.md, figure 4). A no-op outside glibc.
const env = { MALLOC_ARENA_MAX: "2", ...process.env };

const child = spawn(
  process.execPath,
  [...nodeFlags(process.env.NODE_OPTIONS), ...entry, ...process.argv.slice(2)],
  { stdio: "inherit", env },
);

// Forward termination requests so the CLI can stop cleanly and print what it has, as
// SIGUSR2: "a stop was asked", which the CLI takes as a first stop and otherwise ignores.
// Why not the signal itself: a terminal's Ctrl-C reaches the CLI directly too (same
// process group), and a forwarded SIGINT arriving late (a busy machine) was taken for a
// second Ctrl-C, which exits at once (130) instead of draining.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGUSR2");
  });
}

child.on("error", (error) => {
  process.stderr.write(`error: cannot start node: ${error.message}\n`);
  process.exit(1);
});

child.on("exit", (code, signal) => {
  // A child killed by a signal exits the way a shell reports it: 128 + signal number.
  process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
});
