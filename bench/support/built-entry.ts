import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { sourceFileUrls } from "../../scripts/source-file-urls.js";

const OUT_DIR = fileURLToPath(new URL("../../bench-results/.build/", import.meta.url));
const built = new Map<string, Promise<string>>();

/**
 * A bench entry point (TypeScript) built to JavaScript as `rlm worker` is (apps/cli's tsup
 * build): the workspace packages bundled from their sources, npm packages left as
 * imports. Built once per run; resolves with the built file's path.
 *
 * Why: run with tsx, a worker process held about 40 MiB more (the compiler and its caches)
 * than the product does, which figure 4's memory ratios counted as the document's.
 */
export function builtEntry(file: string): Promise<string> {
  let done = built.get(file);
  if (!done) {
    done = buildEntry(file);
    built.set(file, done);
  }
  return done;
}

async function buildEntry(file: string): Promise<string> {
  await mkdir(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, basename(file).replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [file],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    plugins: [npmPackagesExternal, sourceFileUrls(OUT_DIR)],
    // Bundled CommonJS (if any) may call require: give the module one.
    banner: {
      js: 'import { createRequire as rlmRequire } from "node:module"; const require = rlmRequire(import.meta.url);',
    },
  });
  return outfile;
}

/** npm packages stay imports; workspace packages (`@rlm/*`, `rlm-queue`) are bundled. */
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@rlm/") || args.path === "rlm-queue") return undefined;
      return { path: args.path, external: true };
    });
  },
};
