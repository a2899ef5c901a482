import { randomBytes } from "node:crypto";
import { QueueName } from "@rlm/queue";
import { escapeHtml, jsonForScript } from "./html-escape.js";
import type { Trajectory } from "./trajectory-types.js";
import type { ViewerAssets } from "./viewer-assets.js";

/** An HTML page and the Content-Security-Policy that goes with it. */
export interface HtmlPage {
  html: string;
  contentSecurityPolicy: string;
}

/**
 * The policy of every viewer page: nothing but our own inline style and script (by
 * nonce) and same-origin fetches. A slip in escaping model output then still cannot
 * run a script or send data elsewhere.
 */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** A fresh CSP nonce. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

function head(title: string, nonce: string, css: string): string {
  return `<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${css}</style>
</head>`;
}

/**
 * The trajectory page of one analysis. Query and id are rendered on the server
 * (escaped); the rest is drawn by the inline client script from the trajectory
 * embedded as JSON (escaped for a script element), which it then keeps polling.
 * Relative links keep the page working behind a reverse proxy that adds a path prefix.
 */
export function renderViewerPage(trajectory: Trajectory, assets: ViewerAssets): HtmlPage {
  const nonce = newNonce();
  const id = escapeHtml(trajectory.id);
  const path = encodeURIComponent(trajectory.id);
  const title = trajectory.query.replace(/\s+/g, " ").trim().slice(0, 80);
  const html = `<!doctype html>
<html lang="en">
${head(`${title} · RLM analysis`, nonce, assets.css)}
<body class="page-analysis">
<header class="top">
<nav class="crumbs"><a href="../viewer">Analyses</a> <span class="sep">/</span> <code>${id}</code></nav>
<div class="actions">
<a class="button" href="../queues/queue/${QueueName.root}/${path}" title="This analysis's job and its children in Bull Board">Jobs in Bull Board</a>
<a class="button" href="../api/analyses/${path}/trajectory?download=1" download="${id}.trajectory.json">Download JSON</a>
<button class="button" id="copy-answer" hidden>Copy answer</button>
<button class="button danger" id="cancel" hidden>Cancel…</button>
</div>
</header>
<h1 class="query-text" id="query">${escapeHtml(trajectory.query)}</h1>
<p class="notice" id="notice" hidden></p>
<section id="figures" aria-live="polite"></section>
<section class="panel" id="timeline-section">
<div class="panel-head"><h2>Timeline</h2>
<div class="legend"><span class="key state-turn">root turn</span><span class="key state-cell">cell</span><span class="key state-ok">answered</span><span class="key state-ok nested">nested analysis</span><span class="key state-error">failed</span><span class="key state-running">running</span><span class="key state-queued">queued</span><span class="key state-cancelled">not run</span><span class="key retried">retried</span><span class="hint">pale: queued for a worker's call slot · cost column: share of the total · click a bar for details, j/k to step</span></div></div>
<div id="timeline" class="timeline"></div>
</section>
<aside id="details" class="details" hidden></aside>
<section class="panel" id="calls-section">
<div class="panel-head"><h2>Sub-calls</h2>
<div class="toolbar">
<input type="search" id="calls-search" placeholder="Search queries, text and answers  ( / )" aria-label="Search sub-calls">
<span class="chips">${["all", "ok", "error", "pending", "cancelled"].map((status) => `<button class="chip" data-status="${status}">${status}</button>`).join("")}</span>
<label class="check"><input type="checkbox" id="calls-grouped" checked> group identical queries</label>
<button class="link-button" id="calls-all-cells">all cells</button>
</div></div>
<div id="calls"></div>
</section>
<section class="panel">
<div class="panel-head"><h2>Steps</h2></div>
<main id="trajectory"><noscript>The trajectory is drawn by JavaScript; its JSON is at
<a href="../api/analyses/${path}/trajectory">this address</a>.</noscript></main>
</section>
<section class="panel">
<div class="panel-head"><h2>Result</h2></div>
<div id="outcome"></div>
</section>
<dialog id="cancel-dialog">
<h3>Cancel this analysis?</h3>
<p>Analysis <code>${id}</code> stops: its queued sub-calls are dropped, calls already with the model finish and are paid for. It cannot be resumed.</p>
<div class="dialog-actions"><button class="button" id="cancel-keep">Keep it running</button> <button class="button danger" id="cancel-confirm">Cancel analysis</button></div>
</dialog>
<script type="application/json" id="rlm-data">${jsonForScript(trajectory)}</script>
<script nonce="${nonce}">${assets.script}</script>
</body>
</html>
`;
  return { html, contentSecurityPolicy: pagePolicy(nonce) };
}

/** A page for an analysis that is not (or no longer) stored. */
export function renderMissingPage(id: string, assets: Pick<ViewerAssets, "css">): HtmlPage {
  const nonce = newNonce();
  const html = `<!doctype html>
<html lang="en">
${head("Analysis not found · RLM", nonce, assets.css)}
<body>
<header class="top"><nav class="crumbs"><a href="../viewer">Analyses</a> <span class="sep">/</span> <a href="../queues">Queues</a></nav></header>
<h1>No analysis <code>${escapeHtml(id)}</code></h1>
<p class="muted">It never existed, or it has expired after its retention period.</p>
</body>
</html>
`;
  return { html, contentSecurityPolicy: pagePolicy(nonce) };
}
