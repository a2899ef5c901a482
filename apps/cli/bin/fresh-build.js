// Whether the CLI's build (dist/, made by `npm run build -w apps/cli`, which `npm install`
// runs) is current: it exists and none of the files it was made from changed since. Read
// on every start (about 170 stats, ~2 ms), so that an edited source is never run stale.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The built entry of the CLI in `cliDir` (a `file:` URL of apps/cli/) as a path, or
 * undefined when there is no build or a file it was made from is newer than it (or gone).
 */
export function freshBuild(cliDir) {
  const entry = fileURLToPath(new URL("dist/main.js", cliDir));
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(entry).mtimeMs;
    // esbuild's metafile: its input paths are relative to apps/cli, where tsup runs.
    const metafile = JSON.parse(readFileSync(new URL("dist/metafile-esm.json", cliDir), "utf8"));
    inputs = Object.keys(metafile.inputs);
  } catch {
    return undefined;
  }
  for (const input of inputs) {
    try {
      if (statSync(new URL(input, cliDir)).mtimeMs > builtAt) return undefined;
    } catch {
      return undefined;
    }
  }
  return entry;
}
