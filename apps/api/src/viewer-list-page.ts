import { escapeHtml } from "./html-escape.js";
import { LIST_FILTERS, type ListFilter, type RecentAnalysis } from "./recent-analyses.js";
import type { ViewerAssets } from "./viewer-assets.js";
import { type HtmlPage, newNonce, pagePolicy } from "./viewer-page.js";

const QUERY_CHARS = 140;

const FILTER_LABELS: Record<ListFilter, string> = {
  active: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** 850 ms, 12.4 s, 3 min 20 s. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatCost(usd: number | null | undefined): string {
  if (usd === undefined) return "–";
  if (usd === null) return "no price";
  if (usd === 0) return "$0";
  return `$${usd < 0.01 ? usd.toFixed(5) : usd.toFixed(4)}`;
}

/** "12 s ago", "5 min ago", "3 h ago", then the date. */
function ago(iso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return iso.slice(0, 10);
}

function row(analysis: RecentAnalysis, nowMs: number): string {
  const query = analysis.query.replace(/\s+/g, " ").trim();
  const shown = query.length > QUERY_CHARS ? `${query.slice(0, QUERY_CHARS)}…` : query;
  // `waiting` is a root holding no worker slot while its sub-calls run: running, to a person.
  const status = analysis.status === "waiting" ? "running" : analysis.status;
  const href = `viewer/${encodeURIComponent(analysis.id)}`;
  return `<tr data-status="${escapeHtml(status)}">
<td><span class="badge status-${escapeHtml(status)}">${escapeHtml(status)}</span></td>
<td class="query-cell"><a href="${href}">${escapeHtml(shown) || "(empty query)"}</a><div class="muted small"><code>${escapeHtml(analysis.id)}</code></div></td>
<td>${escapeHtml(analysis.finishReason ?? "")}</td>
<td class="num">${formatDuration(analysis.durationMs)}</td>
<td class="num">${formatCost(analysis.costUsd)}</td>
<td class="num">${analysis.subCalls === undefined ? "–" : analysis.subCalls.toLocaleString("en")}</td>
<td class="num" title="${escapeHtml(analysis.createdAt)}">${ago(analysis.createdAt, nowMs)}</td>
</tr>`;
}

/**
 * The viewer's index: recent analyses, newest first, with their status, finish reason,
 * duration, cost and sub-calls, narrowed by status through links (`?status=`). Its
 * script refreshes the table in place every few seconds by fetching this same page.
 */
export function renderViewerListPage(
  analyses: readonly RecentAnalysis[],
  assets: Pick<ViewerAssets, "css" | "listScript">,
  filter?: ListFilter,
  nowMs = Date.now(),
): HtmlPage {
  const nonce = newNonce();
  const filters = [
    `<a class="chip${filter === undefined ? " active" : ""}" href="viewer">All</a>`,
    ...LIST_FILTERS.map(
      (value) =>
        `<a class="chip${filter === value ? " active" : ""}" href="viewer?status=${value}">${FILTER_LABELS[value]}</a>`,
    ),
  ].join("");
  const body =
    analyses.length === 0
      ? `<p class="muted">${filter ? "No analysis with this status." : "No analyses in the root queue."}</p>`
      : `<table class="analyses"><thead><tr><th>Status</th><th>Query</th><th>Finish</th><th class="num">Duration</th><th class="num">Cost</th><th class="num">Sub-calls</th><th class="num">Created</th></tr></thead>
<tbody>
${analyses.map((analysis) => row(analysis, nowMs)).join("\n")}
</tbody></table>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>RLM analyses</title>
<style nonce="${nonce}">${assets.css}</style>
</head>
<body class="page-list">
<header class="top"><nav class="crumbs"><strong>Analyses</strong></nav><div class="actions"><a class="button" href="queues">Bull Board</a></div></header>
<h1>Recent analyses</h1>
<div class="toolbar"><span class="chips">${filters}</span><span class="muted" id="refreshed">newest first · refreshes every 3 s</span></div>
<div id="list">${body}</div>
<script nonce="${nonce}">${assets.listScript}</script>
</body>
</html>
`;
  return { html, contentSecurityPolicy: pagePolicy(nonce) };
}
