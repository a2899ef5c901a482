import type { UIConfig } from "@bull-board/api/typings/app";
import { VIEWER_PATH, viewerPath } from "./routes/viewer-paths.js";

const SANS_FONTS =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif';
const MONO_FONTS =
  'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';

/**
 * Bull Board's settings: our title, a link to the trajectory viewer in its menu, and
 * system fonts in place of the IBM Plex it would fetch from Google Fonts (which its
 * page's CSP forbids: see `BULL_BOARD_POLICY`).
 */
export function boardUiConfig(): UIConfig {
  const fonts = { "font-sans": SANS_FONTS, "font-mono": MONO_FONTS };
  return {
    boardTitle: "RLM Queue",
    miscLinks: [{ text: "Trajectory viewer", url: VIEWER_PATH }],
    theme: { light: fonts, dark: fonts },
  };
}

/** The link each job shows to its analysis's trajectory page (root, nested or LM job alike). */
export function viewerLinkOf(job: { data?: unknown }): { displayText: string; href: string } {
  const data = job.data;
  const id =
    typeof data === "object" && data !== null && "analysisId" in data
      ? String((data as { analysisId: unknown }).analysisId)
      : undefined;
  if (!id) return { displayText: "Trajectory viewer", href: VIEWER_PATH };
  return { displayText: `Trajectory of ${id}`, href: viewerPath(id) };
}

/**
 * Job data as the board shows it: a context reference (`{ sha256, kind, chars, bytes,
 * slice }`, opaque on its own) becomes a sentence saying what it is, and times in ms
 * since the epoch become ISO dates. The rest is shown as is. The job's stored data is
 * not changed: this is only its display.
 */
export function boardJobData(data: unknown): unknown {
  return relabel(data, "");
}

function relabel(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((item) => relabel(item, key));
  if (typeof value === "number" && /(At|Ms)$/.test(key) && value > 1e12) {
    return new Date(value).toISOString();
  }
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  if (typeof record.sha256 === "string" && typeof record.chars === "number") {
    return describeContext(record);
  }
  return Object.fromEntries(
    Object.entries(record).map(([name, item]) => [name, relabel(item, name)]),
  );
}

function describeContext(ref: Record<string, unknown>): string {
  const chars = Number(ref.chars).toLocaleString("en");
  const document = `document ${String(ref.sha256).slice(0, 12)}…`;
  const slice = ref.slice as { charStart?: unknown; start?: unknown; end?: unknown } | undefined;
  if (slice && typeof slice === "object") {
    const start = typeof slice.charStart === "number" ? slice.charStart : undefined;
    return start === undefined
      ? `${chars} chars of ${document} (bytes ${String(slice.start)}–${String(slice.end)})`
      : `${chars} chars of ${document} at ${start.toLocaleString("en")}–${(start + Number(ref.chars)).toLocaleString("en")}`;
  }
  return `${ref.kind === "json" ? "JSON" : "text"}, ${chars} chars (${document})`;
}
