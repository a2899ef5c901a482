import { randomBytes } from "node:crypto";
import { escapeHtml, jsonForScript } from "./html-escape.js";
import type { Trajectory } from "./trajectory-types.js";
import type { ViewerAssets } from "./viewer-assets.js";

/** An HTML page and the Content-Security-Policy that goes with it. */
export interface HtmlPage {
  html: string;
  contentSecurityPolicy: string;
}

/**
 * The policy of every admin page: nothing but our own inline style and script (by
 * nonce) and same-origin fetches. A slip in escaping model output then still cannot
 * run a script or send data elsewhere.
 */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** A fresh CSP nonce. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

/**
 * The trajectory page of one analysis. Query and id are rendered on the server
 * (escaped); the rest is drawn by the inline client script from the trajectory
 * embedded as JSON (escaped for a script element), which it then keeps polling.
 * Relative links keep the page working behind a reverse proxy that adds a path prefix.
 */
export function renderViewerPage(trajectory: Trajectory, assets: ViewerAssets): HtmlPage {
  const nonce = newNonce();
  const title = trajectory.query.replace(/\s+/g, " ").trim().slice(0, 80);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · RLM analysis</title>
<style nonce="${nonce}">${assets.css}</style>
</head>
<body>
<nav><a href="../viewer">Analyses</a> · <a href="../queues">Queues</a></nav>
<h1>Analysis <code>${escapeHtml(trajectory.id)}</code></h1>
<div class="query-text" id="query">${escapeHtml(trajectory.query)}</div>
<p class="notice" id="notice" hidden></p>
<section id="summary"></section>
<h2>Trajectory</h2>
<main id="trajectory"><noscript>The trajectory is drawn by JavaScript; its JSON is at
<a href="../api/analyses/${encodeURIComponent(trajectory.id)}/trajectory">this address</a>.</noscript></main>
<h2>Result</h2>
<section id="outcome"></section>
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
<head>
<meta charset="utf-8">
<title>Analysis not found · RLM</title>
<style nonce="${nonce}">${assets.css}</style>
</head>
<body>
<nav><a href="../viewer">Analyses</a> · <a href="../queues">Queues</a></nav>
<h1>No analysis <code>${escapeHtml(id)}</code></h1>
<p class="muted">It never existed, or it has expired after its retention period.</p>
</body>
</html>
`;
  return { html, contentSecurityPolicy: pagePolicy(nonce) };
}
