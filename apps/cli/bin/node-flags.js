// The Node flags `rlm` runs with (bin/rlm.js re-executes Node with them; the bench starts
// its worker processes with the same list).
//
// - `--no-node-snapshot`: isolated-vm 5 on Node 20 crashes on the shared heap snapshot
//   (and NODE_OPTIONS rejects that flag).
// - `--expose-gc`: lets `rlm worker` collect the garbage a large document's load leaves at
//   once (see `collectGarbage` in the queue package).
// - `--max-semi-space-size=4` (MiB), unless NODE_OPTIONS sets it: V8 grows the young
//   generation's two semi-spaces to 16 MiB each when a process allocates fast (a worker
//   reading a document, a fan-out), and keeps them. A worker's peak over a 100 MB document
//   split into lines and joined into chunks was 382–402 MiB with V8's default, 354–370
//   with 4 and 347–350 with 2. What it costs: one fan-out of 1,000 calls over 2 workers
//   took the same wall with 4 (median 2920 ms over 8 runs each) and ~25 ms more with 2; a
//   lone worker's took ~0.5–1% more with 4 than with 16 (BENCHMARKS.md, session 12).
const SEMI_SPACE_MIB = 4;

/**
 * The flags for a Node process running the CLI, given the NODE_OPTIONS it will inherit
 * (a size there is the user's choice and wins).
 *
 * @param {string | undefined} nodeOptions
 * @returns {string[]}
 */
export function nodeFlags(nodeOptions) {
  const flags = ["--no-node-snapshot", "--expose-gc"];
  if (!/--max-semi-space-size\b/.test(nodeOptions ?? "")) {
    flags.push(`--max-semi-space-size=${SEMI_SPACE_MIB}`);
  }
  return flags;
}
