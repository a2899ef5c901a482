import { escapeHtml } from "./html-escape.js";
import type { RecentAnalysis } from "./recent-analyses.js";
import type { ViewerAssets } from "./viewer-assets.js";
import { type HtmlPage, newNonce, pagePolicy } from "./viewer-page.js";

const QUERY_CHARS = 160;

/** The viewer's index: recent analyses with links to their trajectory pages. No script. */
export function renderViewerListPage(
  analyses: readonly RecentAnalysis[],
  assets: Pick<ViewerAssets, "css">,
): HtmlPage {
  const nonce = newNonce();
  const rows = analyses
    .map((analysis) => {
      const query = analysis.query.replace(/\s+/g, " ").trim();
      const shown = query.length > QUERY_CHARS ? `${query.slice(0, QUERY_CHARS)}…` : query;
      return `<tr><td><a href="viewer/${encodeURIComponent(analysis.id)}"><code>${escapeHtml(analysis.id)}</code></a></td>
<td><span class="badge status-${escapeHtml(analysis.status)}">${escapeHtml(analysis.status)}</span></td>
<td>${escapeHtml(analysis.createdAt)}</td><td>${escapeHtml(shown)}</td></tr>`;
    })
    .join("\n");
  const body =
    analyses.length === 0
      ? `<p class="muted">No analyses in the root queue.</p>`
      : `<table><thead><tr><th>Analysis</th><th>Status</th><th>Created</th><th>Query</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>RLM analyses</title>
<style nonce="${nonce}">${assets.css}</style>
</head>
<body>
<nav><a href="queues">Queues</a></nav>
<h1>Recent analyses</h1>
${body}
</body>
</html>
`;
  return { html, contentSecurityPolicy: pagePolicy(nonce) };
}
