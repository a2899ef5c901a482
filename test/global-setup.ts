import { execFileSync } from "node:child_process";

/**
 * Bundles the sandbox's isolate runtime before any test runs, so tests always run the
 * runtime's current source (npm install bundles it too, through `prepare`).
 */
export default function setup(): void {
  execFileSync(process.execPath, ["packages/sandbox/scripts/bundle-isolate.mjs"], {
    stdio: "inherit",
  });
}
