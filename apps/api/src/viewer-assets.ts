import { readFile } from "node:fs/promises";

/** The viewer's stylesheet and client script, inlined into every page. */
export interface ViewerAssets {
  css: string;
  script: string;
}

const ASSETS = new URL("../assets/", import.meta.url);

let loading: Promise<ViewerAssets> | undefined;

/**
 * Reads `apps/api/assets/viewer.{css,js}` once per process. They are plain files (not
 * template strings) so that Biome lints and formats them like the rest of the code.
 */
export function loadViewerAssets(): Promise<ViewerAssets> {
  loading ??= Promise.all([
    readFile(new URL("viewer.css", ASSETS), "utf8"),
    readFile(new URL("viewer.js", ASSETS), "utf8"),
  ]).then(([css, script]) => ({ css, script }));
  // A failed read is not cached: the next page request tries again.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
