/* global rlm */
// The steps as a log, iteration by iteration: the model's reply, then each cell's code and
// output. Sub-calls are counted here and read on the timeline and in the table.
rlm.steps = (() => {
  "use strict";
  const { el, duration, pre, tokens, number } = rlm;

  /** Open state of collapsible sections by key, kept across re-renders. */
  let openState = new Map();

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

  function meta(...parts) {
    return el("span", { class: "meta" }, parts.filter(Boolean).join(" · "));
  }

  function cell(item, iteration) {
    const title = `Cell ${iteration.iteration}.${item.block}`;
    const calls = item.subCalls.length;
    return el(
      "div",
      { class: "cell" },
      el(
        "div",
        { class: "cell-title" },
        el("strong", null, title),
        " ",
        item.pending
          ? el("span", { class: "live" }, "running")
          : meta(duration(item.durationMs), item.sandboxLost ? "sandbox lost" : ""),
        calls
          ? el(
              "button",
              { class: "link-button", "data-show-cell": item.key },
              `${number(calls)} sub-calls`,
            )
          : null,
        item.final ? rlm.badge(item.final.via, "completed") : null,
      ),
      item.code !== undefined ? pre(item.code, "code") : null,
      item.output ? [el("div", { class: "caption" }, "Output"), pre(item.output, "output")] : null,
      !item.pending && !item.output ? el("div", { class: "caption muted" }, "No output") : null,
      item.error ? pre(item.error, "error") : null,
      item.final
        ? [
            el("div", { class: "caption" }, "Final answer from code"),
            pre(item.final.answer, "answer"),
          ]
        : null,
    );
  }

  function turn(item, title, defaultOpen) {
    return details(
      item.key,
      [title, " ", meta(item.model, tokens(item.usage), duration(item.durationMs))],
      pre(item.content, "reply"),
      defaultOpen,
      "turn",
    );
  }

  /** One analysis's steps (the root, or a nested one in the details panel). */
  function scope(value) {
    const node = el("div", { class: "scope" });
    if (value.iterations.length === 0 && !value.finalTurn) {
      node.append(el("p", { class: "muted" }, "No steps yet."));
    }
    for (const iteration of value.iterations) {
      node.append(
        details(
          `${value.prefix}iteration:${iteration.iteration}`,
          [
            el("strong", null, `Iteration ${iteration.iteration}`),
            " ",
            meta(
              `${iteration.cells.length} cell${iteration.cells.length === 1 ? "" : "s"}`,
              iteration.cells.some((c) => c.final) ? "answered" : "",
            ),
          ],
          [
            iteration.root
              ? turn(iteration.root, "Model reply", false)
              : el("p", { class: "muted" }, "Waiting for the model…"),
            iteration.cells.map((item) => cell(item, iteration)),
          ],
          true,
          "iteration",
        ),
      );
    }
    if (value.finalTurn) {
      node.append(
        el(
          "section",
          { class: "iteration" },
          el("h4", null, "Last turn at the iteration limit"),
          turn(value.finalTurn, "Model reply", true),
        ),
      );
    }
    return node;
  }

  /** Remembers which sections the user opened or closed before the page is redrawn. */
  function rememberOpen() {
    openState = new Map();
    for (const node of document.querySelectorAll("details[data-key]")) {
      openState.set(node.getAttribute("data-key"), node.open);
    }
  }

  return { scope, rememberOpen };
})();
