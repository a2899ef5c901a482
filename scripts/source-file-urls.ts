// An esbuild plugin for bundles that run where they were built (the CLI in apps/cli/dist):
// in each bundled source file, `import.meta.url` is that source file's URL, as it is
// when the file runs unbundled. Files find their assets relative to themselves
// (`new URL("../assets/", import.meta.url)`: the viewer's, the sample report), and a
// bundle would otherwise move every one of them to the bundle's folder.
import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import type { Plugin } from "esbuild";

/** The plugin, for a bundle written to `outDir` (absolute). */
export function sourceFileUrls(outDir: string): Plugin {
  return {
    name: "source-file-urls",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta.url")) return undefined;
        // Chunks are written to outDir itself, so the path from there is the same for all.
        const fromOutDir = relative(outDir, args.path).split(sep).join("/");
        const url = `new URL(${JSON.stringify(fromOutDir)}, import.meta.url).href`;
        return { contents: source.replaceAll("import.meta.url", url), loader: "ts" };
      });
    },
  };
}
