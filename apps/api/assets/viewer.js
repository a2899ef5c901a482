// The trajectory viewer's client script (inlined into /admin/viewer/:id, no build step).
// It renders the trajectory JSON with DOM calls only: text goes through text nodes, never
// innerHTML, because queries, documents and model output are untrusted. While the
// analysis runs it polls the JSON endpoint every second (the SSE route takes only a
// Bearer header, which a page cannot send) until a terminal status.
(() => {
  "use strict";
  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;
  const SUMMARY_CHARS = 140;

  const dataElement = document.getElementById("rlm-data");
  const initial = JSON.parse(dataElement ? dataElement.textContent || "{}" : "{}");
  const url = `../api/analyses/${encodeURIComponent(initial.id)}/trajectory`;
  const summaryElement = document.getElementById("summary");
  const trajectoryElement = document.getElementById("trajectory");
  const outcomeElement = document.getElementById("outcome");
  const noticeElement = document.getElementById("notice");

  /** Open state of collapsible sections by journal key, kept across re-renders. */
  let openState = new Map();
  let lastText = "";
  let failures = 0;

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function pre(text, className) {
    return el("pre", { class: className }, text);
  }

  function details(key, summary, body, defaultOpen, className) {
    const node = el(
      "details",
      { "data-key": key, class: className },
      el("summary", null, summary),
      body,
    );
    node.open = openState.has(key) ? openState.get(key) : defaultOpen;
    return node;
  }

  function number(value) {
    return typeof value === "number" ? value.toLocaleString("en") : "–";
  }

  function duration(ms) {
    if (typeof ms !== "number") return "–";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  function cost(usd) {
    if (usd === null) return "unknown price";
    if (typeof usd !== "number") return "–";
    return `$${usd < 0.01 ? usd.toFixed(5) : usd.toFixed(4)}`;
  }

  function tokens(usage) {
    if (!usage) return "–";
    return `${number(usage.inputTokens)} in · ${number(usage.outputTokens)} out`;
  }

  function shorten(text) {
    const line = String(text || "")
      .replace(/\s+/g, " ")
      .trim();
    return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS)}…` : line;
  }

  function meta(...parts) {
    return el("span", { class: "meta" }, parts.filter(Boolean).join(" · "));
  }

  function field(label, value) {
    return el(
      "div",
      { class: "field" },
      el("span", { class: "label" }, label),
      el("span", null, value),
    );
  }

  function renderSummary(t) {
    const p = t.progress || {};
    const status = String(t.status).replace(/[^a-z_]/g, "");
    return el(
      "div",
      null,
      el(
        "div",
        { class: "status-line" },
        el("span", { class: `badge status-${status}` }, t.status),
        t.terminal ? null : el("span", { class: "live" }, "live"),
        t.cancelRequested && !t.terminal
          ? el("span", { class: "badge status-cancelled" }, "cancel requested")
          : null,
      ),
      el(
        "div",
        { class: "fields" },
        field("Iteration", `${number(p.iteration)} / ${number(p.maxIterations)}`),
        field("Sub-calls", `${number(p.subCallsDone)} done / ${number(p.subCallsTotal)} started`),
        field("Tokens", tokens(p)),
        field("Cost", cost(p.costUsd)),
        field("Created", new Date(t.createdAt).toLocaleString()),
        field("Updated", new Date(t.updatedAt).toLocaleString()),
      ),
      t.error ? pre(`${t.error.code}: ${t.error.message}`, "error") : null,
    );
  }

  function renderRootTurn(turn, title, defaultOpen) {
    return details(
      turn.key,
      [title, " ", meta(turn.model, tokens(turn.usage), duration(turn.durationMs))],
      pre(turn.content, "reply"),
      defaultOpen,
      "turn",
    );
  }

  function renderSubCall(sub) {
    const state = sub.pending ? "running" : sub.error ? "error" : "ok";
    const summary = [
      el("span", { class: `dot ${state}` }, state === "ok" ? "✓" : state === "error" ? "✗" : "…"),
      " ",
      el("span", { class: "sub-query" }, sub.pending ? "(running)" : shorten(sub.query)),
      " ",
      sub.pending
        ? null
        : meta(duration(sub.durationMs), tokens(sub.usage), `${number(sub.calls)} model calls`),
    ];
    const body = [];
    if (!sub.pending) {
      body.push(
        el("div", { class: "caption" }, `Query (over ${number(sub.contextChars)} context chars)`),
      );
      body.push(pre(sub.query, "query"));
      if (sub.error) body.push(pre(`${sub.error.code}: ${sub.error.message}`, "error"));
      else body.push(el("div", { class: "caption" }, "Answer"), pre(sub.answer || "", "answer"));
    }
    if (sub.nested) {
      body.push(
        el(
          "div",
          { class: "nested" },
          el("div", { class: "caption" }, "Nested analysis"),
          renderScope(sub.nested),
        ),
      );
    }
    return details(sub.key, summary, body, false, `subcall ${state}`);
  }

  function renderCell(cell, iteration) {
    const title = `Cell ${iteration}.${cell.block}`;
    const parts = [
      el(
        "div",
        { class: "cell-title" },
        el("strong", null, title),
        " ",
        cell.pending
          ? el("span", { class: "live" }, "running")
          : meta(
              duration(cell.durationMs),
              `${number(cell.subCallCount)} sub-calls`,
              cell.sandboxLost ? "sandbox lost" : "",
            ),
        cell.final ? el("span", { class: "badge status-completed" }, cell.final.via) : null,
      ),
    ];
    if (cell.code !== undefined) parts.push(pre(cell.code, "code"));
    if (cell.output)
      parts.push(el("div", { class: "caption" }, "Output"), pre(cell.output, "output"));
    else if (!cell.pending) parts.push(el("div", { class: "caption muted" }, "No output"));
    if (cell.error) parts.push(pre(cell.error, "error"));
    if (cell.final)
      parts.push(
        el("div", { class: "caption" }, "Final answer from code"),
        pre(cell.final.answer, "answer"),
      );
    if (cell.subCalls.length > 0) {
      parts.push(
        el(
          "div",
          { class: "subcalls" },
          el("div", { class: "caption" }, `Sub-calls (${cell.subCalls.length})`),
          cell.subCalls.map(renderSubCall),
        ),
      );
    }
    return el("div", { class: "cell" }, parts);
  }

  function renderScope(scope) {
    const node = el("div", { class: "scope" });
    if (scope.iterations.length === 0 && !scope.finalTurn)
      node.append(el("p", { class: "muted" }, "No steps yet."));
    for (const iteration of scope.iterations) {
      node.append(
        el(
          "section",
          { class: "iteration" },
          el("h3", null, `Iteration ${iteration.iteration}`),
          iteration.root
            ? renderRootTurn(iteration.root, "Model reply", false)
            : el("p", { class: "muted" }, "Waiting for the model…"),
          iteration.cells.map((cell) => renderCell(cell, iteration.iteration)),
        ),
      );
    }
    if (scope.finalTurn) {
      node.append(
        el(
          "section",
          { class: "iteration" },
          el("h3", null, "Last turn at the iteration limit"),
          renderRootTurn(scope.finalTurn, "Model reply", true),
        ),
      );
    }
    return node;
  }

  function renderOutcome(t) {
    const o = t.outcome;
    if (!o)
      return el("p", { class: "muted" }, t.terminal ? "No result recorded." : "Not finished yet.");
    const rows = Object.entries(o.usage.byModel || {}).map(([model, u]) =>
      el(
        "tr",
        null,
        el("td", null, model),
        el("td", null, number(u.inputTokens)),
        el("td", null, number(u.cachedInputTokens)),
        el("td", null, number(u.outputTokens)),
        el("td", null, cost(u.costUsd)),
      ),
    );
    rows.push(
      el(
        "tr",
        { class: "total" },
        el("td", null, "Total"),
        el("td", null, number(o.usage.inputTokens)),
        el("td", null, number(o.usage.cachedInputTokens)),
        el("td", null, number(o.usage.outputTokens)),
        el("td", null, cost(o.usage.costUsd)),
      ),
    );
    return el(
      "div",
      null,
      pre(o.answer, "answer final"),
      el(
        "div",
        { class: "fields" },
        field("Finish reason", o.finishReason),
        field("Iterations", number(o.iterations)),
        field("Model calls", number(o.totalCalls)),
        field("Duration", duration(o.durationMs)),
      ),
      o.error ? pre(`${o.error.code}: ${o.error.message}`, "error") : null,
      el(
        "table",
        { class: "usage" },
        el(
          "thead",
          null,
          el(
            "tr",
            null,
            ["Model", "Input", "Cached input", "Output", "Cost"].map((h) => el("th", null, h)),
          ),
        ),
        el("tbody", null, rows),
      ),
    );
  }

  function render(t) {
    openState = new Map();
    for (const node of document.querySelectorAll("details[data-key]")) {
      openState.set(node.getAttribute("data-key"), node.open);
    }
    summaryElement.replaceChildren(renderSummary(t));
    const trajectory = [renderScope(t.root)];
    if (t.source === "result") {
      trajectory.unshift(
        el(
          "p",
          { class: "muted" },
          "The journal has expired: cells are shown from the result, without model replies or sub-calls.",
        ),
      );
    }
    trajectoryElement.replaceChildren(...trajectory);
    outcomeElement.replaceChildren(renderOutcome(t));
  }

  function notice(text) {
    noticeElement.textContent = text;
    noticeElement.hidden = text === "";
  }

  async function poll() {
    if (document.hidden) {
      // A background tab need not load Redis; it catches up when shown.
      setTimeout(poll, POLL_MS);
      return;
    }
    try {
      // no-cache: revalidate with the ETag, so an unchanged trajectory costs a 304.
      const response = await fetch(url, {
        cache: "no-cache",
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      if (response.status === 401) {
        notice("Not signed in any more: open this page again with ?token=<api token>.");
        return;
      }
      if (response.status === 404) {
        notice("This analysis is no longer stored.");
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      const trajectory = JSON.parse(text);
      failures = 0;
      notice("");
      if (text !== lastText) {
        lastText = text;
        render(trajectory);
      }
      if (trajectory.terminal) return;
    } catch (error) {
      failures += 1;
      notice(
        `Cannot refresh (${error instanceof Error ? error.message : String(error)}); retrying…`,
      );
    }
    setTimeout(poll, failures === 0 ? POLL_MS : Math.min(POLL_MS * 2 ** failures, MAX_BACKOFF_MS));
  }

  render(initial);
  if (!initial.terminal) setTimeout(poll, POLL_MS);
})();
