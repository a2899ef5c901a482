// Run by npm after `npm install` / `npm ci` in the repository: builds the CLI to
// JavaScript (apps/cli/dist), so that `npx rlm` starts without compiling TypeScript.
// Without the build tools (`npm ci --omit=dev`), or if the build fails, the CLI still
// works: bin/rlm.js runs its TypeScript sources with tsx when there is no current build.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

try {
  createRequire(import.meta.url).resolve("tsup");
} catch {
  console.log("prepare: no tsup (dev dependencies omitted): the CLI will run from its sources");
  process.exit(0);
}
const build = spawnSync("npm", ["run", "--silent", "build", "-w", "apps/cli", "--", "--silent"], {
  stdio: "inherit",
});
if (build.status !== 0) {
  console.warn("prepare: the CLI build failed; bin/rlm.js will run its sources with tsx");
}
