/* global rlm */
// The sub-calls table: every call at every depth with the slice of the document it
// covered, its answer's first line, tokens, cost and time; identical queries grouped with
// a count; narrowed by status and by a text search over queries, slices and answers.
rlm.calls = (() => {
  "use strict";
  const { el, duration, cost, compact, number, highlighted, range } = rlm;

  /** Rows drawn at most: beyond, the search narrows them. */
  const MAX_ROWS = 400;
  const STATUS_FILTERS = [
    ["all", "All"],
    ["ok", "Answered"],
    ["error", "Failed"],
    ["pending", "Pending"],
    ["cancelled", "Not run"],
  ];

  function statusOf(call) {
    return call.state === "queued" || call.state === "running" ? "pending" : call.state;
  }

  function matchesSearch(call, needle) {
    if (!needle) return true;
    const ref = call.ref;
    const fields = [ref.query, ref.answer, ref.error && ref.error.message, call.preview];
    return fields.some((field) => field && String(field).toLowerCase().includes(needle));
  }

  /** The calls the filters keep. */
  function filtered(model, view) {
    const needle = view.search.trim().toLowerCase();
    return model.calls.filter(
      (call) =>
        (view.status === "all" || statusOf(call) === view.status) &&
        (!view.cell || call.owner === view.cell) &&
        matchesSearch(call, needle),
    );
  }

  /** Counts per status filter, for the chips. */
  function counts(model) {
    const result = { all: model.calls.length, ok: 0, error: 0, pending: 0, cancelled: 0 };
    for (const call of model.calls) result[statusOf(call)] += 1;
    return result;
  }

  function timeText(call, now) {
    if (call.state === "queued") return "queued";
    if (call.state === "cancelled") return "not run";
    if (call.end === undefined) return `running ${duration(now - (call.start || now))}`;
    return duration(call.end - call.start);
  }

  function callRow(call, needle, view, now) {
    const ref = call.ref;
    const answer = ref.error ? `${ref.error.code}: ${ref.error.message}` : call.answerLine;
    const attempts = (ref.attempts || 1) + (ref.job ? ref.job.retries : 0);
    return el(
      "tr",
      {
        class: `call state-${rlm.token(call.state)}${view.selected === call.key ? " selected" : ""}`,
        "data-key": call.key,
      },
      el(
        "td",
        { class: "num" },
        el("span", { class: `dot state-${rlm.token(call.state)}` }),
        call.label,
      ),
      el("td", { class: "cell-path" }, call.path),
      el(
        "td",
        { class: "covers" },
        ref.slice ? el("span", { class: "slice" }, range(ref.slice)) : null,
        call.preview ? el("span", { class: "preview" }, highlighted(call.preview, needle)) : null,
        !ref.slice && !call.preview && ref.contextChars !== undefined
          ? el("span", { class: "muted" }, `${number(ref.contextChars)} chars`)
          : null,
      ),
      el(
        "td",
        { class: `answer-cell${ref.error ? " error-text" : ""}` },
        call.nested ? el("span", { class: "tag" }, "nested") : null,
        call.sameAs
          ? el(
              "span",
              { class: "tag", title: "answered once for both" },
              `same as ${call.sameAs.split(" ")[0]}`,
            )
          : null,
        highlighted(answer || (call.state === "cancelled" ? "" : "…"), needle),
      ),
      el(
        "td",
        { class: "num" },
        call.ref.usage
          ? `${compact(call.ref.usage.inputTokens)} / ${compact(call.ref.usage.outputTokens)}`
          : "",
      ),
      el("td", { class: "num" }, call.cost !== undefined ? cost(call.cost) : ""),
      el(
        "td",
        { class: "num" },
        timeText(call, now),
        attempts > 1
          ? el("span", { class: "retry-mark", title: `${attempts} attempts` }, ` ↻${attempts}`)
          : null,
      ),
      el("td", { class: "worker" }, rlm.model.workerName(call.worker)),
    );
  }

  function groupRow(group, open, needle) {
    const calls = group.calls;
    let spent = 0;
    let tokensIn = 0;
    const times = [];
    for (const call of calls) {
      if (typeof call.cost === "number") spent += call.cost;
      if (call.ref.usage) tokensIn += call.ref.usage.inputTokens + call.ref.usage.outputTokens;
      if (call.end !== undefined && call.start !== undefined) times.push(call.end - call.start);
    }
    times.sort((a, b) => a - b);
    const failed = calls.filter((call) => call.state === "error").length;
    const facts = [
      `×${calls.length}`,
      failed ? `${failed} failed` : "",
      tokensIn ? `${compact(tokensIn)} tokens` : "",
      spent ? cost(spent) : "",
      times.length ? `median ${duration(times[Math.floor(times.length / 2)])}` : "",
    ];
    return el(
      "tr",
      { class: "group", "data-group": group.query },
      el(
        "td",
        { colspan: "8" },
        el("button", { class: "tl-toggle", "data-group-toggle": group.query }, open ? "▾" : "▸"),
        el("span", { class: "group-query" }, highlighted(group.query || "(no query)", needle)),
        el("span", { class: "group-facts" }, facts.filter(Boolean).join(" · ")),
      ),
    );
  }

  /** Draws the table into `container` and the counts onto the status chips. */
  function render(container, chips, model, view, now) {
    const all = counts(model);
    for (const chip of chips) {
      const status = chip.getAttribute("data-status");
      const label = STATUS_FILTERS.find(([value]) => value === status);
      chip.textContent = `${label ? label[1] : status} ${all[status] ?? 0}`;
      chip.classList.toggle("active", status === view.status);
    }
    const needle = view.search.trim().toLowerCase();
    const calls = filtered(model, view);
    if (model.calls.length === 0) {
      container.replaceChildren(el("p", { class: "muted" }, "No sub-calls yet."));
      return;
    }
    const body = el("tbody");
    let drawn = 0;
    const draw = (call) => {
      if (drawn >= MAX_ROWS) return;
      body.append(callRow(call, needle, view, now));
      drawn += 1;
    };
    if (view.grouped) {
      for (const group of rlm.model.groupByQuery(calls)) {
        const open = view.openGroups.has(group.query) ? view.openGroups.get(group.query) : true;
        body.append(groupRow(group, open, needle));
        if (open) group.calls.forEach(draw);
      }
    } else {
      calls.forEach(draw);
    }
    const head = el(
      "thead",
      null,
      el(
        "tr",
        null,
        ["#", "Cell", "Covers", "Answer", "Tokens in/out", "Cost", "Time", "Worker"].map((title) =>
          el("th", null, title),
        ),
      ),
    );
    const notes = [];
    if (view.cell) notes.push(`calls of ${model.items.get(view.cell)?.label || "one cell"} only`);
    if (calls.length > drawn)
      notes.push(`${calls.length - drawn} more not shown: narrow the search`);
    container.replaceChildren(
      el(
        "p",
        { class: "calls-note muted" },
        `${number(calls.length)} of ${number(model.calls.length)} calls`,
        notes.length ? ` · ${notes.join(" · ")}` : "",
      ),
      el("div", { class: "calls-scroll" }, el("table", { class: "calls" }, head, body)),
    );
  }

  return { render, STATUS_FILTERS };
})();
