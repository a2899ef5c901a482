// The Node flags bin/rlm.js runs the CLI with: the young generation stays small unless
// NODE_OPTIONS sizes it (a worker's peak memory over a large document depends on it).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { nodeFlags } from "../bin/node-flags.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Allocates fast enough for V8 to grow its young generation, then prints its size. */
const CHURN = `
const v8 = require("node:v8");
let kept = [];
for (let i = 0; i < 3e6; i++) { kept.push({ i, s: "x" + i }); if (kept.length > 200000) kept = []; }
const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
process.stdout.write(String(young.space_size));
`;

async function youngGenerationBytes(flags: string[], nodeOptions?: string): Promise<number> {
  const env = { ...process.env, NODE_OPTIONS: nodeOptions ?? "" };
  const { stdout } = await run(process.execPath, [...flags, "-e", CHURN], { env });
  return Number(stdout);
}

describe("the CLI's Node flags", () => {
  it("run isolated-vm's way, with gc exposed and 4 MiB semi-spaces", () => {
    expect(nodeFlags(undefined)).toEqual([
      "--no-node-snapshot",
      "--expose-gc",
      "--max-semi-space-size=4",
    ]);
  });

  it("keep the young generation at two 4 MiB semi-spaces where V8 would grow it", async () => {
    const bounded = await youngGenerationBytes(nodeFlags(undefined));
    const unbounded = await youngGenerationBytes(["--no-node-snapshot", "--expose-gc"]);
    expect(bounded).toBeLessThanOrEqual(8 * MiB);
    expect(unbounded).toBeGreaterThan(8 * MiB);
  });

  it("leave the size to NODE_OPTIONS when it sets one", async () => {
    const options = "--max-semi-space-size=16";
    expect(nodeFlags(options)).toEqual(["--no-node-snapshot", "--expose-gc"]);
    expect(await youngGenerationBytes(nodeFlags(options), options)).toBeGreaterThan(8 * MiB);
  });
});
