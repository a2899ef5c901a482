/* global rlm */
// The timeline: a waterfall of root turns, cells and sub-calls on one time axis. A cell's
// plain sub-calls share one row, packed into lanes (one lane per call running at once),
// which opens into a row per call; a nested analysis is a row that opens into its own
// turns and cells. Bars are coloured by outcome; the part of a call spent waiting for a
// worker is pale; the right column is each row's cost, with its share of the total.
rlm.timeline = (() => {
  "use strict";
  const { el, duration, cost, compact, shorten } = rlm;

  /** Groups of plain sub-calls up to this size start open. */
  const AUTO_OPEN = 12;
  const LABEL_WIDTH = 330;
  const COST_WIDTH = 140;
  const TICK_STEPS = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000,
    300000, 600000, 1800000, 3600000,
  ];

  function tickLabel(ms, step, span) {
    if (span < 1000) return `${ms} ms`;
    if (step < 60000) return `${Number((ms / 1000).toFixed(2))} s`;
    return `${Number((ms / 60000).toFixed(1))} min`;
  }

  /** Rows in display order, given which groups and nested analyses are open. */
  function rowsOf(model, expanded) {
    const children = new Map();
    for (const key of model.order) {
      const item = model.items.get(key);
      const owner = item.owner || "";
      if (!children.has(owner)) children.set(owner, []);
      children.get(owner).push(item);
    }
    const rows = [];
    const visit = (owner, depth) => {
      for (const item of children.get(owner) || []) {
        if (item.kind === "call") continue;
        rows.push({ item, depth });
        if (item.kind !== "cell") continue;
        const calls = children.get(item.key) || [];
        const plain = calls.filter((call) => !call.nested);
        if (plain.length > 0) {
          const key = `${item.key}#calls`;
          const open = expanded.has(key) ? expanded.get(key) : plain.length <= AUTO_OPEN;
          rows.push({ group: { key, cell: item, calls: plain }, depth: depth + 1, open });
          if (open) for (const call of plain) rows.push({ item: call, depth: depth + 2 });
        }
        for (const call of calls.filter((c) => c.nested)) {
          const open = expanded.get(call.key) === true;
          rows.push({ item: call, depth: depth + 1, toggle: call.key, open });
          if (open) visit(call.key, depth + 2);
        }
      }
    };
    visit("", 0);
    return rows;
  }

  /** The axis: start, end and a tick step giving at most ten ticks. */
  function axisOf(model, now) {
    const start = model.start !== undefined ? model.start : now;
    const end = Math.max(model.live ? now : (model.end ?? start), start + 1);
    const span = (end - start) * 1.02;
    const step = TICK_STEPS.find((candidate) => span / candidate <= 10) || 3600000;
    return { start, span, step };
  }

  function pct(axis, ms) {
    return `${(((ms - axis.start) / axis.span) * 100).toFixed(3)}%`;
  }

  function widthPct(axis, from, to) {
    return `${((Math.max(0, to - from) / axis.span) * 100).toFixed(3)}%`;
  }

  function labelOf(row) {
    if (row.group) {
      const { calls } = row.group;
      const queries = new Set(calls.map((call) => call.ref.query || ""));
      const query = queries.size === 1 ? [...queries][0] : "";
      const failed = calls.filter((call) => call.state === "error").length;
      const pending = calls.filter((call) => call.state === "queued" || call.state === "running");
      return [
        el("span", { class: "tl-name" }, `${calls.length} sub-calls`),
        el(
          "span",
          { class: "tl-sub" },
          query ? `×${calls.length} “${shorten(query, 60)}”` : `${queries.size} different queries`,
        ),
        failed ? el("span", { class: "tl-flag error" }, `${failed} failed`) : null,
        pending.length
          ? el("span", { class: "tl-flag running" }, `${pending.length} pending`)
          : null,
      ];
    }
    const item = row.item;
    if (item.kind === "turn") {
      const turn = item.ref;
      return [
        el("span", { class: "tl-name" }, item.label),
        el("span", { class: "tl-sub" }, `${turn.model} · ${compact(turn.usage.inputTokens)} in`),
      ];
    }
    if (item.kind === "waiting") {
      return [
        el("span", { class: "tl-name" }, item.label),
        el("span", { class: "tl-sub" }, "waiting for the model…"),
      ];
    }
    if (item.kind === "cell") {
      const cell = item.ref;
      const count = cell.subCalls.length;
      return [
        el("span", { class: "tl-name" }, item.label),
        el(
          "span",
          { class: "tl-sub" },
          [count ? `${count} sub-calls` : "code", cell.final ? `· ${cell.final.via}` : ""].join(
            " ",
          ),
        ),
        cell.error ? el("span", { class: "tl-flag error" }, "error") : null,
      ];
    }
    const call = item.ref;
    const what = item.nested
      ? `nested · “${shorten(call.query, 48)}”`
      : [item.preview ? `“${shorten(item.preview, 30)}”` : item.subject, item.answerLine]
          .filter(Boolean)
          .join(" → ");
    return [
      el("span", { class: "tl-name" }, item.label),
      el("span", { class: "tl-sub" }, what),
      item.retried ? el("span", { class: "tl-flag retry" }, "retried") : null,
      item.sameAs
        ? el("span", { class: "tl-flag", title: `same as ${item.sameAs}` }, "repeat")
        : null,
    ];
  }

  function titleOf(item) {
    const parts = [item.label];
    if (item.kind === "call") parts.push(item.subject, item.answerLine);
    parts.push(item.state, item.end !== undefined ? duration(item.end - item.start) : "running");
    if (item.cost !== undefined) parts.push(cost(item.cost));
    if (item.worker) parts.push(`on ${item.worker}`);
    return parts.filter(Boolean).join(" · ");
  }

  /** One bar: a pale part while queued (issued → started), then the run (started → end). */
  function bar(item, axis, now, selected, className) {
    const from = item.issued !== undefined ? item.issued : item.start;
    if (from === undefined) return null;
    const to = item.end !== undefined ? item.end : now;
    const started = item.start !== undefined ? Math.max(item.start, from) : to;
    const classes = [
      className || "tl-bar",
      `state-${rlm.token(item.state)}`,
      item.kind === "call" && item.nested ? "nested" : "",
      item.retried ? "retried" : "",
      item.end === undefined ? "tl-live" : "",
      selected === item.key ? "selected" : "",
    ];
    const node = el("div", {
      class: classes.filter(Boolean).join(" "),
      "data-key": item.key,
      title: titleOf(item),
    });
    node.style.left = pct(axis, from);
    node.style.width = widthPct(axis, from, to);
    node.waitShare = to > from ? (started - from) / (to - from) : 0;
    if (node.waitShare > 0) {
      const wait = el("span", { class: "tl-wait" });
      wait.style.width = `${(node.waitShare * 100).toFixed(2)}%`;
      node.append(wait);
    }
    return node;
  }

  /** The track of a group: its calls packed into lanes, one per call running at once. */
  function packed(calls, axis, now, selected) {
    const spans = calls
      .map((call) => ({
        call,
        from: call.issued !== undefined ? call.issued : call.start,
        to: call.end !== undefined ? call.end : now,
      }))
      .filter((span) => span.from !== undefined)
      .sort((a, b) => a.from - b.from);
    const laneEnds = [];
    for (const span of spans) {
      let lane = laneEnds.findIndex((end) => end <= span.from);
      if (lane === -1) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = span.to;
      span.lane = lane;
    }
    const laneHeight = Math.max(3, Math.min(8, Math.floor(96 / Math.max(1, laneEnds.length))));
    const box = el("div", { class: "tl-lanes" });
    box.style.height = `${laneEnds.length * laneHeight + 2}px`;
    for (const span of spans) {
      const node = bar(span.call, axis, now, selected, "tl-mini");
      node.style.top = `${span.lane * laneHeight + 1}px`;
      node.style.height = `${laneHeight - 1}px`;
      box.append(node);
    }
    return box;
  }

  /**
   * The run's time as a label: inside the bar where the run starts (after the pale wait)
   * when it fits, else just after the bar's end.
   */
  function barLabel(item, node, axis, trackPx) {
    if (item.end === undefined || item.start === undefined) return undefined;
    const text = duration(item.end - item.start);
    const from = item.issued !== undefined ? item.issued : item.start;
    const runPx = ((item.end - item.start) / axis.span) * trackPx;
    const label = el("span", { class: "tl-bar-text" }, text);
    if (runPx >= text.length * 6.5 + 8) {
      label.style.left = `${(node.waitShare * 100).toFixed(2)}%`;
      return { node: label, inside: true };
    }
    label.className = "tl-bar-text outside";
    label.style.left = `calc(${pct(axis, Math.max(item.end, from))} + 4px)`;
    return { node: label, inside: false };
  }

  /** A row's cost, its share of the analysis's cost in words and as a bar. */
  function costCell(value, total) {
    if (value === undefined) return el("div", { class: "tl-cost" });
    const percent = total > 0 && typeof value === "number" ? (value / total) * 100 : 0;
    const share = el("span", { class: "tl-share" });
    share.style.width = `${Math.min(100, percent).toFixed(1)}%`;
    return el(
      "div",
      { class: "tl-cost" },
      el("span", null, cost(value)),
      el("span", { class: "tl-percent" }, percent >= 0.5 ? `${Math.round(percent)}%` : "<1%"),
      share,
    );
  }

  function groupCost(calls) {
    let sum = 0;
    for (const call of calls) if (typeof call.cost === "number") sum += call.cost;
    return sum;
  }

  function axisRow(axis, now, live) {
    const ticks = el("div", { class: "tl-track tl-ticks" });
    for (let at = 0; at <= axis.span; at += axis.step) {
      // A tick label where "now" is written would be covered by it.
      if (live && Math.abs(axis.start + at - now) < axis.span * 0.07) continue;
      const tick = el("span", { class: "tl-tick" }, tickLabel(at, axis.step, axis.span));
      tick.style.left = pct(axis, axis.start + at);
      ticks.append(tick);
    }
    if (live) {
      const mark = el("span", { class: "tl-now" }, "now");
      mark.style.left = pct(axis, now);
      ticks.append(mark);
    }
    return el(
      "div",
      { class: "tl-row tl-axis" },
      el("div", { class: "tl-label" }, "Step"),
      ticks,
      el("div", { class: "tl-cost" }, "Cost"),
    );
  }

  /**
   * Draws the timeline into `container`. `view` holds the page's state: `expanded`
   * (Map of open groups and nested rows), `selected` (a key).
   */
  function render(container, model, view, now) {
    if (model.start === undefined) {
      container.replaceChildren(el("p", { class: "muted" }, "No steps yet."));
      return;
    }
    const axis = axisOf(model, now);
    const width = container.clientWidth || 1200;
    const trackPx = Math.max(200, width - LABEL_WIDTH - COST_WIDTH);
    const gridStep = `${((axis.step / axis.span) * 100).toFixed(4)}%`;
    const rows = [axisRow(axis, now, model.live)];
    for (const row of rowsOf(model, view.expanded)) {
      const key = row.group ? row.group.key : row.item.key;
      const toggleKey = row.group ? row.group.key : row.toggle;
      const label = el(
        "div",
        { class: "tl-label", "data-key": row.group ? "" : key },
        toggleKey
          ? el(
              "button",
              { class: "tl-toggle", "data-toggle": toggleKey, "aria-expanded": String(row.open) },
              row.open ? "▾" : "▸",
            )
          : el("span", { class: "tl-toggle-space" }),
        labelOf(row),
      );
      label.style.paddingLeft = `${6 + row.depth * 16}px`;
      const track = el("div", { class: "tl-track" });
      track.style.backgroundSize = `${gridStep} 100%`;
      if (row.group) {
        track.append(packed(row.group.calls, axis, now, view.selected));
      } else {
        const node = bar(row.item, axis, now, view.selected);
        if (node) {
          track.append(node);
          const label = barLabel(row.item, node, axis, trackPx);
          if (label) (label.inside ? node : track).append(label.node);
        }
      }
      if (model.live) {
        const mark = el("span", { class: "tl-now-line" });
        mark.style.left = pct(axis, now);
        track.append(mark);
      }
      const value = row.group ? groupCost(row.group.calls) : row.item.cost;
      const kind = row.group ? "group" : row.item.kind;
      const selected = !row.group && view.selected === key ? " selected" : "";
      rows.push(
        el(
          "div",
          { class: `tl-row kind-${kind}${selected}`, "data-row": key },
          label,
          track,
          costCell(value, model.totalCost),
        ),
      );
    }
    container.style.setProperty("--tl-label", `${LABEL_WIDTH}px`);
    container.style.setProperty("--tl-cost", `${COST_WIDTH}px`);
    container.replaceChildren(...rows);
  }

  return { render, rowsOf };
})();
