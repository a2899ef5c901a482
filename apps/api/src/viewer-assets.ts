import { readFile } from "node:fs/promises";

/** The viewer's stylesheet and client scripts, inlined into its pages. */
export interface ViewerAssets {
  css: string;
  /** The trajectory page's script. */
  script: string;
  /** The list page's script (refresh in place). */
  listScript: string;
}

const ASSETS = new URL("../assets/", import.meta.url);

/**
 * The trajectory page's script, in this order: each file adds its part to the `rlm`
 * object the first one makes (helpers, the data model, then the parts of the page).
 */
const PAGE_SCRIPTS = [
  "viewer-dom.js",
  "viewer-model.js",
  "viewer-timeline.js",
  "viewer-calls.js",
  "viewer-details.js",
  "viewer-steps.js",
  "viewer-main.js",
];

let loading: Promise<ViewerAssets> | undefined;

/**
 * Reads `apps/api/assets/` once per process. They are plain files (not template
 * strings) so that the linter and the formatter check them like the rest of the code;
 * the page's scripts are joined into one block scope, so their names stay off `window`.
 */
export function loadViewerAssets(): Promise<ViewerAssets> {
  loading ??= Promise.all([
    readFile(new URL("viewer.css", ASSETS), "utf8"),
    Promise.all(PAGE_SCRIPTS.map((name) => readFile(new URL(name, ASSETS), "utf8"))),
    readFile(new URL("viewer-list.js", ASSETS), "utf8"),
  ]).then(([css, parts, listScript]) => ({ css, script: `{\n${parts.join("\n")}\n}`, listScript }));
  // A failed read is not cached: the next page request tries again.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
