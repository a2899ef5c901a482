/* global rlm */
// The details of the step picked on the timeline or in the table: for a root turn the
// model's reply, for a cell its code and output, for a sub-call what it covered, its query
// and answer, its times (queued, running), tokens, cost, worker and job.
rlm.details = (() => {
  "use strict";
  const { el, duration, cost, number, pre, badge, range } = rlm;

  function at(model, ms) {
    if (typeof ms !== "number" || model.start === undefined) return "–";
    return `+${duration(ms - model.start)}`;
  }

  function facts(pairs) {
    return el(
      "dl",
      { class: "facts" },
      pairs
        .filter(([, value]) => value !== undefined && value !== null && value !== "")
        .map(([name, value]) => [el("dt", null, name), el("dd", null, value)]),
    );
  }

  function usageFacts(usage) {
    if (!usage) return [];
    return [
      ["Tokens", `${number(usage.inputTokens)} in · ${number(usage.outputTokens)} out`],
      ["Cached input", usage.cachedInputTokens ? number(usage.cachedInputTokens) : ""],
      ["Cost", cost(usage.costUsd)],
    ];
  }

  /** A link to a job's page in Bull Board (its queue and id). */
  function jobLink(job) {
    if (!job) return "";
    const href = `../queues/queue/${encodeURIComponent(job.queue)}/${encodeURIComponent(job.id)}`;
    return el(
      "a",
      { href, class: "job-link" },
      `${job.queue} · ${job.id.slice(0, 34)}${job.id.length > 34 ? "…" : ""}`,
    );
  }

  function turnDetails(model, item) {
    const turn = item.ref;
    return [
      facts([
        ["Model", turn.model],
        ["Started", at(model, item.start)],
        ["Took", duration(turn.durationMs)],
        ...usageFacts(turn.usage),
        ["Worker", item.worker],
      ]),
      el("h4", null, "Model reply"),
      pre(turn.content, "reply"),
    ];
  }

  function cellDetails(model, item) {
    const cell = item.ref;
    return [
      facts([
        ["Started", at(model, item.start)],
        ["Took", cell.pending ? "running" : duration(cell.durationMs)],
        ["Sub-calls", cell.subCalls.length ? number(cell.subCalls.length) : "none"],
        ["Sandbox", cell.sandboxLost ? "lost (rebuilt from the journal)" : ""],
        ["Answer", cell.final ? `${cell.final.via}` : ""],
      ]),
      cell.subCalls.length
        ? el(
            "button",
            { class: "link-button", "data-show-cell": item.key },
            "Show its calls in the table",
          )
        : null,
      cell.code !== undefined ? [el("h4", null, "Code"), pre(cell.code, "code")] : null,
      cell.output ? [el("h4", null, "Output"), pre(cell.output, "output")] : null,
      cell.error ? [el("h4", null, "Error"), pre(cell.error, "error")] : null,
      cell.final ? [el("h4", null, "Final answer"), pre(cell.final.answer, "answer")] : null,
    ];
  }

  function callDetails(model, item, now) {
    const call = item.ref;
    const waited =
      item.start !== undefined && item.issued !== undefined ? item.start - item.issued : undefined;
    const ran =
      item.start === undefined ? undefined : (item.end !== undefined ? item.end : now) - item.start;
    const attempts = call.attempts || 1;
    return [
      facts([
        [
          "Covers",
          call.slice
            ? `chars ${range(call.slice)} of the document`
            : call.contextChars !== undefined
              ? `${number(call.contextChars)} chars`
              : "",
        ],
        ["Starts with", call.preview ? `“${call.preview}”` : ""],
        ["Same as", item.sameAs ? `${item.sameAs}: an identical call, answered once` : ""],
        ["Issued", at(model, item.issued)],
        ["Queued", waited !== undefined ? duration(waited) : ""],
        [call.pending ? "Running for" : "Ran", ran !== undefined ? duration(ran) : ""],
        ["Model calls", call.calls !== undefined ? number(call.calls) : ""],
        ...usageFacts(call.usage),
        ["Attempts", attempts > 1 ? `${attempts} (the model client retried)` : ""],
        [
          "Job retries",
          call.job && call.job.retries > 0 ? `${call.job.retries} (BullMQ ran the job again)` : "",
        ],
        ["Worker", call.job ? call.job.worker || "not taken yet" : ""],
        ["Job", jobLink(call.job)],
      ]),
      el("h4", null, "Query"),
      pre(call.query || "", "query"),
      call.error
        ? [el("h4", null, "Error"), pre(`${call.error.code}: ${call.error.message}`, "error")]
        : null,
      call.answer !== undefined ? [el("h4", null, "Answer"), pre(call.answer, "answer")] : null,
      call.nested
        ? [
            el("h4", null, "Nested analysis"),
            el(
              "button",
              { class: "link-button", "data-toggle": item.key },
              "Open it on the timeline",
            ),
            rlm.steps.scope(call.nested),
          ]
        : null,
    ];
  }

  function titleOf(item) {
    if (item.kind === "call") return `Sub-call ${item.label} of cell ${item.path}`;
    if (item.kind === "waiting") return `${item.label}: waiting for the model`;
    return item.label;
  }

  /** Draws the details of `item` (an entry of the model) into `container`. */
  function render(container, model, item, now) {
    const stateText = item.kind === "turn" ? "model turn" : item.state;
    const body =
      item.kind === "turn"
        ? turnDetails(model, item)
        : item.kind === "cell"
          ? cellDetails(model, item)
          : item.kind === "call"
            ? callDetails(model, item, now)
            : [
                facts([
                  ["Since", at(model, item.start)],
                  ["Waiting", duration(now - item.start)],
                ]),
              ];
    rlm.fill(
      container,
      el(
        "div",
        { class: "details-head" },
        el("h3", null, titleOf(item)),
        badge(stateText, item.state),
        el("span", { class: "spacer" }),
        el("button", { class: "icon-button", "data-nav": "-1", title: "Previous step (k)" }, "↑"),
        el("button", { class: "icon-button", "data-nav": "1", title: "Next step (j)" }, "↓"),
        el("button", { class: "icon-button", "data-close": "1", title: "Close (Esc)" }, "✕"),
      ),
      el("div", { class: "details-body" }, body),
    );
  }

  return { render };
})();
