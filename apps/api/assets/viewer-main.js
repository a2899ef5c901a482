/* global rlm */
// The page: the trajectory embedded as JSON, redrawn from the JSON endpoint every second
// while the analysis runs (the SSE route takes only a Bearer header, which a page cannot
// send), the figures, the actions (cancel, download, copy the answer) and the keyboard.
(() => {
  "use strict";
  const { el, number, duration, cost, compact, badge, pre } = rlm;
  const POLL_MS = 1000;
  const MAX_BACKOFF_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const dataElement = $("rlm-data");
  let trajectory = JSON.parse(dataElement ? dataElement.textContent || "{}" : "{}");
  const url = `../api/analyses/${encodeURIComponent(trajectory.id)}/trajectory`;
  /** Browser clock minus server clock, so bars still running end at the server's "now". */
  let clockSkew = Date.now() - trajectory.generatedMs;
  let model = rlm.model.build(trajectory);
  let lastText = "";
  let failures = 0;

  const view = {
    expanded: new Map(),
    selected: undefined,
    search: "",
    status: "all",
    grouped: true,
    openGroups: new Map(),
    cell: undefined,
  };

  const now = () => Date.now() - clockSkew;

  function field(label, value, note) {
    return el(
      "div",
      { class: "figure" },
      el("span", { class: "label" }, label),
      el("span", { class: "value" }, value),
      note ? el("span", { class: "note" }, note) : null,
    );
  }

  function statusBadge(t) {
    // `waiting` is the root job holding no worker slot while its sub-calls run: to a
    // person the analysis is running.
    const shown = t.status === "waiting" ? "running" : t.status;
    return badge(shown, shown);
  }

  function renderFigures(t) {
    const p = t.progress || {};
    const f = t.figures;
    const calls = f.subCalls;
    const elapsed = t.outcome
      ? t.outcome.durationMs
      : model.start !== undefined
        ? (t.terminal ? Date.parse(t.updatedAt) : now()) - model.start
        : undefined;
    const share = (part) =>
      model.totalCost > 0 ? ` (${Math.round((part / model.totalCost) * 100)}%)` : "";
    const workers = f.workers.map((w) => `${rlm.model.workerName(w.name)} ×${w.calls}`).join(" · ");
    rlm.fill(
      $("figures"),
      el(
        "div",
        { class: "status-line" },
        statusBadge(t),
        t.terminal ? null : el("span", { class: "live" }, "live"),
        t.status === "waiting"
          ? el("span", { class: "muted" }, "root waiting for its sub-calls")
          : null,
        t.cancelRequested && !t.terminal ? badge("cancel requested", "cancelled") : null,
        t.outcome ? el("span", { class: "muted" }, `finish: ${t.outcome.finishReason}`) : null,
      ),
      el(
        "div",
        { class: "figures" },
        field("Iteration", `${number(p.iteration)} / ${number(p.maxIterations)}`),
        field(
          "Sub-calls",
          `${number(calls.done)} / ${number(calls.started)}`,
          [
            calls.pending ? `${number(calls.pending)} pending` : "",
            calls.failed ? `${number(calls.failed)} failed` : "",
            calls.started - calls.done - calls.pending > 0
              ? `${number(calls.started - calls.done - calls.pending)} not run`
              : "",
            !calls.pending && !calls.failed ? "done / started" : "",
          ]
            .filter(Boolean)
            .join(" · "),
        ),
        field("Model calls", number(f.modelCalls)),
        field(
          "Tokens",
          `${compact(f.usage.inputTokens)} in · ${compact(f.usage.outputTokens)} out`,
        ),
        field(
          "Cost",
          cost(f.usage.costUsd),
          model.totalCost > 0
            ? `turns ${cost(model.turnsCost)}${share(model.turnsCost)} · sub-calls ${cost(model.callsCost)}${share(model.callsCost)}`
            : "",
        ),
        field(t.terminal ? "Duration" : "Elapsed", duration(elapsed)),
        workers ? field("Workers", workers) : null,
      ),
      t.error ? pre(`${t.error.code}: ${t.error.message}`, "error") : null,
    );
  }

  function renderOutcome(t) {
    const o = t.outcome;
    const node = $("outcome");
    $("copy-answer").hidden = !o;
    if (!o) {
      node.replaceChildren(
        el("p", { class: "muted" }, t.terminal ? "No result recorded." : "Not finished yet."),
      );
      return;
    }
    const row = (name, u, className) =>
      el(
        "tr",
        { class: className },
        [
          name,
          number(u.inputTokens),
          number(u.cachedInputTokens),
          number(u.outputTokens),
          cost(u.costUsd),
        ].map((text) => el("td", null, text)),
      );
    const rows = Object.entries(o.usage.byModel || {}).map(([name, u]) => row(name, u));
    rows.push(row("Total", o.usage, "total"));
    rlm.fill(
      node,
      el(
        "div",
        { class: "answer-box" },
        pre(o.answer, "answer final"),
        el("button", { class: "button", "data-copy": "answer" }, "Copy answer"),
      ),
      el(
        "div",
        { class: "figures" },
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

  function renderDetails() {
    const panel = $("details");
    const item = view.selected !== undefined ? model.items.get(view.selected) : undefined;
    panel.hidden = !item;
    document.body.classList.toggle("with-details", Boolean(item));
    if (!item) return;
    const scroll = panel.scrollTop;
    rlm.details.render(panel, model, item, now());
    panel.scrollTop = scroll;
  }

  function renderTimeline() {
    rlm.timeline.render($("timeline"), model, view, now());
  }

  function renderCalls() {
    const scroller = document.querySelector("#calls .calls-scroll");
    const scroll = scroller ? scroller.scrollTop : 0;
    rlm.calls.render($("calls"), document.querySelectorAll("[data-status]"), model, view, now());
    const again = document.querySelector("#calls .calls-scroll");
    if (again) again.scrollTop = scroll;
  }

  function render(t) {
    trajectory = t;
    model = rlm.model.build(t);
    rlm.steps.rememberOpen();
    renderFigures(t);
    renderDetails();
    renderTimeline();
    renderCalls();
    const steps = [rlm.steps.scope(t.root)];
    if (t.source === "result") {
      steps.unshift(
        el(
          "p",
          { class: "muted" },
          "The journal has expired: cells are shown from the result, without model replies or sub-calls.",
        ),
      );
    }
    $("trajectory").replaceChildren(...steps);
    renderOutcome(t);
    $("cancel").hidden = t.terminal || t.cancelRequested;
  }

  function notice(text) {
    $("notice").textContent = text;
    $("notice").hidden = text === "";
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
      if (response.status === 401)
        return notice("Not signed in any more: open this page again with ?token=<api token>.");
      if (response.status === 404) return notice("This analysis is no longer stored.");
      if (!response.ok && response.status !== 304) throw new Error(`HTTP ${response.status}`);
      failures = 0;
      notice("");
      if (response.status !== 304) {
        const text = await response.text();
        if (text !== lastText) {
          lastText = text;
          const next = JSON.parse(text);
          clockSkew = Date.now() - next.generatedMs;
          render(next);
        }
      } else if (!trajectory.terminal) {
        // Nothing new, but running bars grow: redraw what depends on the clock.
        renderFigures(trajectory);
        renderTimeline();
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

  function select(key) {
    view.selected = key;
    // The panel first: opening or closing it changes the width the timeline is drawn for.
    renderDetails();
    renderTimeline();
    renderCalls();
  }

  /** The steps in timeline order, for the keyboard: j/k walk them. */
  function step(direction) {
    const keys = model.order;
    const at = keys.indexOf(view.selected);
    const next = keys[Math.min(keys.length - 1, Math.max(0, at + direction))];
    if (next !== undefined) select(next);
  }

  async function cancel() {
    $("cancel-dialog").close();
    notice("Cancelling…");
    try {
      const response = await fetch(`../api/analyses/${encodeURIComponent(trajectory.id)}/cancel`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: "{}",
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok)
        throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
      notice(
        body.outcome === "cancelled"
          ? "Cancelled."
          : "Cancel requested: the workers stop its calls.",
      );
      $("cancel").hidden = true;
    } catch (error) {
      notice(`Cannot cancel: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const toggle = target.closest("[data-toggle]");
    if (toggle) {
      const key = toggle.getAttribute("data-toggle");
      const row = rlm.timeline
        .rowsOf(model, view.expanded)
        .find((r) => (r.group ? r.group.key : r.toggle) === key);
      view.expanded.set(key, !(row ? row.open : false));
      renderTimeline();
      return;
    }
    const groupToggle = target.closest("[data-group-toggle]");
    if (groupToggle) {
      const query = groupToggle.getAttribute("data-group-toggle");
      view.openGroups.set(query, !(view.openGroups.has(query) ? view.openGroups.get(query) : true));
      renderCalls();
      return;
    }
    const chip = target.closest("[data-status]");
    if (chip) {
      view.status = chip.getAttribute("data-status");
      renderCalls();
      return;
    }
    const showCell = target.closest("[data-show-cell]");
    if (showCell) {
      view.cell = showCell.getAttribute("data-show-cell");
      renderCalls();
      $("calls-section").scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    }
    if (target.closest("[data-close]")) return select(undefined);
    const nav = target.closest("[data-nav]");
    if (nav) return step(Number(nav.getAttribute("data-nav")));
    if (target.closest("[data-copy]") || target.closest("#copy-answer")) {
      if (!trajectory.outcome) return;
      rlm.copyText(trajectory.outcome.answer).then(
        () => notice("Answer copied."),
        () => notice("Cannot copy: select the answer and copy it."),
      );
      return;
    }
    const keyed = target.closest("#timeline [data-key], #calls [data-key]");
    if (keyed && keyed.getAttribute("data-key")) select(keyed.getAttribute("data-key"));
  });

  $("calls-search").addEventListener("input", (event) => {
    view.search = event.target.value;
    renderCalls();
  });
  $("calls-grouped").addEventListener("change", (event) => {
    view.grouped = event.target.checked;
    renderCalls();
  });
  $("calls-all-cells").addEventListener("click", () => {
    view.cell = undefined;
    renderCalls();
  });
  $("cancel").addEventListener("click", () => $("cancel-dialog").showModal());
  $("cancel-confirm").addEventListener("click", cancel);
  $("cancel-keep").addEventListener("click", () => $("cancel-dialog").close());

  document.addEventListener("keydown", (event) => {
    const typing =
      event.target instanceof Element && event.target.closest("input, textarea, dialog");
    if (typing) return;
    if (event.key === "Escape") select(undefined);
    else if (event.key === "j" || event.key === "ArrowDown") {
      if (view.selected === undefined) return;
      event.preventDefault();
      step(1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      if (view.selected === undefined) return;
      event.preventDefault();
      step(-1);
    } else if (event.key === "/") {
      event.preventDefault();
      $("calls-search").focus();
    }
  });
  window.addEventListener("resize", renderTimeline);

  render(trajectory);
  if (!trajectory.terminal) setTimeout(poll, POLL_MS);
})();
