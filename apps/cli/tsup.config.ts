import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
import { sourceFileUrls } from "../../scripts/source-file-urls.js";

// The `rlm` command as JavaScript (dist/main.js and a chunk per command), so that it
// starts without compiling TypeScript. The workspace packages it uses are bundled from
// their sources; npm packages stay imports, resolved from the repository's node_modules
// (the CLI runs where it was built). bin/rlm.js reads the metafile to tell whether the
// build is older than its sources (and then runs them with tsx instead).
// RLM_CLI_OUT_DIR: a build elsewhere (a test builds into a temporary folder).
const outDir = process.env.RLM_CLI_OUT_DIR ?? fileURLToPath(new URL("dist", import.meta.url));

export default defineConfig({
  entry: { main: "src/main.ts" },
  outDir,
  format: ["esm"],
  target: "node20",
  platform: "node",
  splitting: true,
  sourcemap: true,
  clean: true,
  metafile: true,
  noExternal: [/^@rlm\//, /^rlm-queue$/],
  external: [/^(?!@rlm\/|rlm-queue$)[^./]/],
  esbuildPlugins: [sourceFileUrls(outDir)],
});
